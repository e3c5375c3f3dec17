import { randomUUID } from 'node:crypto';
import type { quotaSchema } from '../../config/admission-schema.js';
import type { Resolved } from '../../config/schema.js';
import type { RateLimitRejection } from '../../errors.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import { abortedOutcome } from '../../pipeline/outcomes.js';
import { onAbort } from '../../pipeline/signals.js';
import { sleep } from '../../pipeline/sleep.js';
import type { CallContext, Next, Outcome, Strategy } from '../../pipeline/types.js';
import { attemptWeight, refusal, reportGrant, type WaitBound, waitBound } from '../admission.js';
import { LeasePool } from './lease-pool.js';
import { memoryQuotaStore } from './memory-store.js';
import type { QuotaLease, QuotaLeaseRequest, QuotaStore } from './store.js';

export type ResolvedQuotaOptions = Readonly<Omit<Resolved<typeof quotaSchema>, 'store'>> & {
  readonly store: QuotaStore;
};

/** After a store failure, how long the instance keeps to its local share before asking again. */
const REJOIN_AFTER_MS = 1000;
/**
 * How long the store must keep failing before the instance takes its local share: one slow
 * answer of a store that is up for the rest of the fleet must not add a share to the fleet's
 * rate. Meanwhile the instance asks again every {@link STORE_RETRY_MS}.
 */
const FALLBACK_AFTER_MS = 500;
const STORE_RETRY_MS = 50;

/** One attempt waiting for permits. */
interface Waiter {
  readonly permits: number;
  readonly boundAt: number;
  readonly boundReason: RateLimitRejection;
  /** Settle: the time its permits may be used, or why it gets none. */
  readonly settle: (result: number | RateLimitRejection, waitMs?: number) => void;
}

/**
 * The fleet quota: `limit` permits per `intervalMs` for every instance using the same `key`
 * and store. Each wire attempt takes `weight` permits from the permits this instance holds;
 * when they run low it leases more from the store (one Lua script on Redis), as many as it
 * used in the last `leaseMs`, so a steady instance makes one store command per lease, not per
 * call. Every permit comes with its time slot (GCRA), so however the fleet spreads them it
 * never uses more than `burst + W × limit ÷ intervalMs` in any W ms. Attempts wait FIFO for
 * their slot within their deadline (or `maxWaitMs`), or fail with `RateLimitedError`.
 *
 * When the store fails the instance keeps to its local share — `limit` ÷ the fleet size the
 * store last reported, or `fallbackLimit` — starting after the permits it already holds, and
 * asks the store again every second: no call fails because the store did.
 */
export class FleetQuota implements Strategy {
  readonly name = 'fleet_quota';
  readonly #instance = randomUUID();
  readonly #emissionMs: number;
  readonly #capacity: number;
  /** How late after its slot a permit may still go at once: one emission interval, at least 5 ms. */
  readonly #graceMs: number;
  readonly #maxLease: number;
  readonly #pool: LeasePool;
  readonly #queue: Waiter[] = [];
  readonly #closing = new AbortController();
  /** The local share, used while the store is down. */
  readonly #local = memoryQuotaStore();
  #leasing = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #serveTimer: NodeJS.Timeout | undefined;
  /** After a denied lease: when the first permit of the next lease would be usable. */
  #readyAt: number | undefined;
  #fleetSize: number | undefined;
  /** When a permit was last sent at the share's pace (see `#quietTime`). */
  #lateUsedAt = Number.NEGATIVE_INFINITY;
  /** After rejoining the fleet: until when permits go at the share's pace, at most until the cap. */
  #pacedUntil = Number.NEGATIVE_INFINITY;
  #pacedCap = Number.NEGATIVE_INFINITY;
  /** When the store started failing (cleared by its next answer). */
  #failingSince: number | undefined;
  /** While on the local share: when to ask the store again. */
  #fallbackUntil: number | undefined;
  /** Permits taken since `#rateSince`, and the smoothed rate (permits per ms). */
  #taken = 0;
  #rateSince = performance.now();
  #perMs = 0;

  constructor(
    private readonly options: ResolvedQuotaOptions,
    private readonly events: ClientEvents,
    private readonly client: string,
  ) {
    this.#emissionMs = options.intervalMs / options.limit;
    this.#capacity = Math.max(options.limit, options.burst);
    this.#graceMs = Math.max(this.#emissionMs, 5);
    // A lease never covers more than the whole fleet's rate for `leaseMs`.
    this.#maxLease = Math.max(1, Math.ceil(options.leaseMs / this.#emissionMs));
    this.#pool = new LeasePool(2 * options.leaseMs);
    options.store.attach();
  }

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const permits = attemptWeight(this.options.weight, ctx, 'quota');
    if (typeof permits !== 'number') return Promise.resolve({ kind: 'error', error: permits });
    if (permits > this.#capacity) {
      return Promise.resolve(
        refusal(this.events, ctx, 'fleet_quota', permits, 'weight_exceeds_capacity', Infinity),
      );
    }
    const now = performance.now();
    if (this.#queue.length === 0) {
      const slot = this.#pool.peek(permits, now);
      if (slot !== undefined && slot <= now) {
        // A permit in hand whose time has come: the steady state.
        const at = this.#quietTime(slot, now);
        if (at !== undefined) {
          if (this.#fallbackUntil !== undefined) {
            this.#lateUsedAt = Math.max(this.#lateUsedAt, at);
          }
          this.#commit(permits, now);
          if (at <= now) {
            reportGrant(this.events, ctx, 'fleet_quota', permits, 0);
            return next(ctx);
          }
          return this.#goAt(ctx, next, permits, at, now);
        }
      }
    }
    return this.#wait(ctx, next, permits, now);
  }

  /**
   * When a permit whose slot was at `slot` goes, for an instance with nobody queued. A lease
   * covers this instance's next `leaseMs` at the fleet's pace, so a quiet instance uses its
   * permits after their slots: fine while it keeps to its share of the rate. So a permit older
   * than the grace goes at most one per share interval (`intervalMs ÷ (limit ÷ fleet size)`):
   * a stall or a burst of callers never sends them all at once. For an interval after
   * rejoining the fleet, while other instances may still spend their local shares, only
   * fresh slots a share interval apart go. `undefined`: not now (the attempt queues).
   */
  #quietTime(slot: number, now: number): number | undefined {
    const fresh = slot >= now - this.#graceMs;
    if (now < this.#pacedUntil) {
      // Just rejoined: only slots a share interval apart (see `#serve`).
      if (!fresh || slot < this.#lateUsedAt + this.#shareIntervalMs()) return undefined;
      this.#lateUsedAt = slot;
      return slot;
    }
    if (fresh) return slot;
    const at = Math.max(now, slot, this.#lateUsedAt + this.#shareIntervalMs());
    this.#lateUsedAt = at;
    return at;
  }

  #shareIntervalMs(): number {
    return this.#emissionMs * (this.#fleetSize ?? 1);
  }

  /** Wait until `at` (a permit taken), then send. */
  async #goAt(
    ctx: CallContext,
    next: Next,
    permits: number,
    at: number,
    now: number,
  ): Promise<Outcome> {
    if (!(await sleep(at - now, ctx.signal, this.#closing.signal))) {
      if (ctx.signal?.aborted) return abortedOutcome(ctx);
      return refusal(this.events, ctx, 'fleet_quota', permits, 'closed', at - now);
    }
    reportGrant(this.events, ctx, 'fleet_quota', permits, performance.now() - now);
    return next(ctx);
  }

  async #wait(ctx: CallContext, next: Next, permits: number, now: number): Promise<Outcome> {
    const bound = waitBound(ctx, this.options.maxWaitMs, now);
    if (this.#closing.signal.aborted) {
      return refusal(this.events, ctx, 'fleet_quota', permits, 'closed', 0);
    }
    for (let again = false; ; again = true) {
      const result = await this.#enqueue(ctx, permits, bound, now, again);
      if ('aborted' in result) return abortedOutcome(ctx);
      if ('refused' in result) {
        return refusal(this.events, ctx, 'fleet_quota', permits, result.refused, result.waitMs);
      }
      const delay = result.at - performance.now();
      if (delay > 0 && !(await sleep(delay, ctx.signal, this.#closing.signal))) {
        if (ctx.signal?.aborted) return abortedOutcome(ctx);
        return refusal(this.events, ctx, 'fleet_quota', permits, 'closed', delay);
      }
      // Woken long after its slot (the event loop stalled): sending now would bunch with the
      // permits of the slots after it, so it queues again, first in line.
      if (performance.now() - result.at <= this.#graceMs) break;
    }
    reportGrant(this.events, ctx, 'fleet_quota', permits, performance.now() - now);
    return next(ctx);
  }

  /** Queue for permits: resolves the time they may be used, or why there are none. */
  #enqueue(
    ctx: CallContext,
    permits: number,
    bound: WaitBound,
    now: number,
    first: boolean,
  ): Promise<{ at: number } | { refused: RateLimitRejection; waitMs: number } | { aborted: true }> {
    return new Promise((resolve) => {
      let forgetAbort: (() => void) | undefined;
      let late: NodeJS.Timeout | undefined;
      const done = (result: Parameters<typeof resolve>[0]) => {
        forgetAbort?.();
        if (late) clearTimeout(late);
        resolve(result);
      };
      const waiter: Waiter = {
        permits,
        boundAt: bound.at,
        boundReason: bound.reason,
        settle: (r, waitMs = 0) => done(typeof r === 'number' ? { at: r } : { refused: r, waitMs }),
      };
      const leave = (result: Parameters<typeof resolve>[0]) => {
        const index = this.#queue.indexOf(waiter);
        if (index < 0) return;
        this.#queue.splice(index, 1);
        done(result);
      };
      if (first) this.#queue.unshift(waiter);
      else this.#queue.push(waiter);
      if (ctx.signal) forgetAbort = onAbort(ctx.signal, () => leave({ aborted: true }));
      if (Number.isFinite(bound.at)) {
        // Still without permits at its bound (a slow store, or one that said "later").
        late = setTimeout(
          () => {
            const t = performance.now();
            const waitMs = Math.max(t - now, (this.#readyAt ?? t) - now);
            leave({ refused: bound.reason, waitMs });
          },
          Math.max(0, bound.at - now),
        );
      }
      this.#serve();
    });
  }

  /** Give the queue's head its permits while the pool has them; lease more when it does not. */
  #serve(): void {
    const queue = this.#queue;
    while (queue.length > 0) {
      const head = queue[0]!;
      const now = performance.now();
      const slot = this.#pool.peek(head.permits, now);
      if (slot === undefined) {
        if (this.#readyAt !== undefined && this.#readyAt > now) {
          this.#refuseBefore(this.#readyAt);
          return; // the retry timer serves the rest
        }
        this.#lease();
        return;
      }
      const at = slot;
      const paced = now < this.#pacedUntil;
      if (paced) {
        // Just rejoined: at the share's pace for a while, by using only the slots at least a
        // share interval apart — never by moving a permit later, into other instances' slots.
        const earliest = Math.max(this.#lateUsedAt + this.#shareIntervalMs(), now - this.#graceMs);
        if (slot < earliest) {
          this.#pool.dropBefore(earliest);
          continue;
        }
      } else if (slot < now - this.#graceMs || slot <= this.#lateUsedAt) {
        // Attempts wait, yet these slots passed unused (the event loop stalled), or come before
        // permits already handed out at the share's pace: sent now they would bunch with
        // those, so nobody gets them.
        this.#pool.dropBefore(Math.max(now - this.#graceMs, this.#lateUsedAt + 0.001));
        continue;
      }
      const sharing = paced || this.#fallbackUntil !== undefined;
      if (sharing && at <= head.boundAt && at - now > this.#shareIntervalMs()) {
        // At the share's pace, hand out one permit at a time, never far ahead: when the pace
        // ends (rejoined, or back from the local share), none is left promised beyond it.
        this.#serveAt(at - this.#shareIntervalMs());
        return;
      }
      queue.shift();
      if (at > head.boundAt) {
        // Its slot comes too late: it gets nothing, and the permits stay for the next one.
        head.settle(head.boundReason, at - now);
        continue;
      }
      // Paced, or on the local share: the paced permits after a rejoin come after these.
      if (sharing) {
        this.#lateUsedAt = Math.max(this.#lateUsedAt, at);
      }
      this.#commit(head.permits, now);
      head.settle(at);
    }
    this.#leaseAhead(performance.now());
  }

  /** Serve the queue again at `at` (one timer at a time). */
  #serveAt(at: number): void {
    if (this.#serveTimer) clearTimeout(this.#serveTimer);
    this.#serveTimer = setTimeout(
      () => {
        this.#serveTimer = undefined;
        this.#serve();
      },
      Math.max(1, at - performance.now()),
    );
  }

  #commit(permits: number, now: number): void {
    this.#pool.take(permits);
    this.#taken += permits;
    if (this.#queue.length === 0) this.#leaseAhead(now);
  }

  /** Lease before the permits held run out: when fewer are left than half a lease's use. */
  #leaseAhead(now: number): void {
    if (this.#pool.size(now) < (this.#rate(now) * this.options.leaseMs) / 2) this.#lease();
  }

  /** Refuse the waiters whose bound comes before `readyAt`: no permit can reach them in time. */
  #refuseBefore(readyAt: number): void {
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const waiter = this.#queue[i]!;
      if (waiter.boundAt < readyAt) {
        this.#queue.splice(i, 1);
        waiter.settle(waiter.boundReason, readyAt - performance.now());
      }
    }
  }

  /** Lease more permits (one lease at a time), from the store or, while it is down, the local share. */
  #lease(): void {
    if (this.#leasing || this.#retryTimer || this.#closing.signal.aborted) return;
    this.#leasing = true;
    const now = performance.now();
    const held = this.#pool.size(now);
    let queued = 0;
    for (const waiter of this.#queue) queued += waiter.permits;
    const head = Math.max(1, Math.min(this.#queue[0]?.permits ?? 1, this.#capacity) - held);
    const want = Math.max(
      head,
      Math.min(
        this.#maxLease,
        Math.max(queued - held, Math.ceil(this.#rate(now) * this.options.leaseMs)),
      ),
    );
    const request: QuotaLeaseRequest = {
      want,
      // At least half a lease, or nothing: when the fleet wants more than the quota, a
      // store asked for "whatever fits" would hand out one permit per command.
      min: Math.max(head, Math.ceil(want / 2)),
      emissionMs: this.#emissionMs,
      burst: this.options.burst,
      // Reserve up to four leases ahead: room for the other instances' leases too, so a
      // saturated fleet is seldom told "later".
      horizonMs: 4 * this.options.leaseMs,
      instance: this.#instance,
    };
    const local = this.#fallbackUntil !== undefined && now < this.#fallbackUntil;
    const asked = performance.now();
    (local ? this.#leaseLocally(request, now) : this.#leaseFromStore(request)).then(
      (lease) =>
        this.#leased(request, lease, asked, local ? 'local_share' : this.options.store.kind),
      () => {
        this.#leasing = false;
        this.#storeFailed(request);
      },
    );
  }

  #leaseFromStore(request: QuotaLeaseRequest): Promise<QuotaLease> {
    const store = this.options.store;
    const timeoutMs = store.operationTimeoutMs;
    if (!Number.isFinite(timeoutMs)) return store.lease(this.options.key, request);
    return new Promise<QuotaLease>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('quota store timed out')), timeoutMs);
      store.lease(this.options.key, request).then(
        (lease) => {
          clearTimeout(timer);
          resolve(lease);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** The local share: this instance's part of the limit, starting after the permits it holds. */
  async #leaseLocally(request: QuotaLeaseRequest, now: number): Promise<QuotaLease> {
    const emissionMs = this.options.intervalMs / this.#localLimit();
    // After the permits this instance holds, and after every permit the fleet may still hold:
    // the store granted none usable later than a horizon after it failed (for us, first).
    const held = this.#pool.size(now);
    // (A store that never answered this instance is taken as down for the whole fleet.)
    const fleetHeldUntil =
      this.#fleetSize === undefined
        ? now
        : (this.#failingSince ?? now) +
          request.horizonMs +
          (this.options.burst - 1) * this.#emissionMs;
    this.#local.startAt(
      'share',
      Math.max(held > 0 ? this.#pool.end(now) + emissionMs : now, fleetHeldUntil),
    );
    return this.#local.leaseNow('share', { ...request, emissionMs, burst: 1 }, now);
  }

  #localLimit(): number {
    const o = this.options;
    return this.#fleetSize !== undefined
      ? o.limit / Math.max(1, this.#fleetSize)
      : (o.fallbackLimit ?? o.limit / 10);
  }

  #leased(request: QuotaLeaseRequest, lease: QuotaLease, asked: number, source: string): void {
    this.#leasing = false;
    if (source !== 'local_share') {
      this.#failingSince = undefined;
      // A store that restarted has forgotten who is in the fleet: until the instances have all
      // come back (the paced while), keep the larger size.
      if (lease.fleetSize !== undefined) {
        const now = performance.now();
        const rejoining = now < this.#pacedUntil || this.#fallbackUntil !== undefined;
        // Still fewer instances back than before the outage: the others may still be on
        // their local shares, so keep to ours a while longer (within a bound, in case some
        // are gone for good).
        if (now < this.#pacedUntil && lease.fleetSize < (this.#fleetSize ?? 0)) {
          this.#pacedUntil = Math.min(this.#pacedCap, now + this.#pacedMs());
        }
        this.#fleetSize = rejoining
          ? Math.max(lease.fleetSize, this.#fleetSize ?? 0)
          : lease.fleetSize;
      }
      if (this.#fallbackUntil !== undefined) this.#rejoin();
    }
    this.#report(request.want, lease.granted, lease.granted > 0 ? 'ok' : 'denied', source);
    const emissionMs =
      source === 'local_share' ? this.options.intervalMs / this.#localLimit() : this.#emissionMs;
    if (lease.granted > 0) {
      this.#readyAt = undefined;
      // The store's "now" was somewhere in the round trip, and nearly always at its start:
      // the request leaves at once, while a busy event loop reads the answer late (tens of ms
      // while a process warms up). Read as the answer's arrival, the slots would move later by
      // that delay, onto the slots the store gave other instances after these, and the fleet
      // would go over its rate by it; read as the request's start, they are where the store
      // put them, and those the delay made stale go as any late permit does: dropped while
      // attempts queue (`#serve`), at the share's pace when none do (`#quietTime`).
      this.#pool.add(asked + lease.firstInMs, lease.granted, emissionMs, source === 'local_share');
      this.#serve();
      return;
    }
    // Nothing fits yet: the store can grant again at `retryInMs`, and what it grants then is
    // usable a horizon later. Refuse who cannot wait that long; ask again then.
    this.#readyAt = asked + lease.retryInMs + request.horizonMs;
    this.#refuseBefore(this.#readyAt);
    this.#retryTimer = setTimeout(
      () => {
        this.#retryTimer = undefined;
        this.#readyAt = undefined;
        if (this.#queue.length > 0) this.#serve();
      },
      // Spread the instances that were all told the same time.
      Math.max(1, lease.retryInMs * (1 + Math.random() / 4)),
    );
  }

  /**
   * The store failed. Ask again shortly; once it has failed for {@link FALLBACK_AFTER_MS},
   * keep to the local share and ask the store again every second.
   */
  #storeFailed(request: QuotaLeaseRequest): void {
    this.#report(request.want, 0, 'error', this.options.store.kind);
    const now = performance.now();
    this.#failingSince ??= now;
    if (this.#fallbackUntil === undefined && now - this.#failingSince < FALLBACK_AFTER_MS) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        if (this.#queue.length > 0) this.#serve();
      }, STORE_RETRY_MS);
      return;
    }
    const first = this.#fallbackUntil === undefined;
    this.#fallbackUntil = now + REJOIN_AFTER_MS;
    if (first && this.events.quotaFallback.hasListeners) {
      this.events.quotaFallback.emit({
        client: this.client,
        active: true,
        localLimit: this.#localLimit(),
        fleetSize: this.#fleetSize,
      });
    }
    if (this.#queue.length > 0) this.#serve();
  }

  /** How long a rejoined instance keeps to its share: the others' rejoin period, or an interval. */
  #pacedMs(): number {
    return Math.max(REJOIN_AFTER_MS, this.options.intervalMs);
  }

  #rejoin(): void {
    this.#fallbackUntil = undefined;
    // The fleet's quota never granted them: used next to its new permits they would add
    // this instance's share to the fleet's rate.
    this.#pool.dropLocal();
    // Other instances may spend their local shares for up to REJOIN_AFTER_MS more: until
    // then (and at least one interval), this one keeps to its share too.
    const now = performance.now();
    this.#pacedUntil = now + this.#pacedMs();
    this.#pacedCap = now + 5 * this.#pacedMs();
    if (this.events.quotaFallback.hasListeners) {
      this.events.quotaFallback.emit({
        client: this.client,
        active: false,
        localLimit: this.#localLimit(),
        fleetSize: this.#fleetSize,
      });
    }
  }

  /** Permits per ms this instance used lately (smoothed). */
  #rate(now: number): number {
    const elapsed = now - this.#rateSince;
    if (elapsed >= 50) {
      const recent = this.#taken / elapsed;
      this.#perMs = this.#perMs === 0 ? recent : 0.5 * this.#perMs + 0.5 * recent;
      this.#taken = 0;
      this.#rateSince = now;
    }
    return this.#perMs;
  }

  #report(
    requested: number,
    granted: number,
    result: 'ok' | 'denied' | 'error',
    source: string,
  ): void {
    if (!this.events.quotaLease.hasListeners) return;
    this.events.quotaLease.emit({
      client: this.client,
      requested,
      granted,
      result,
      source,
      fleetSize: this.#fleetSize,
    });
  }

  async dispose(): Promise<void> {
    this.#closing.abort();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#serveTimer) clearTimeout(this.#serveTimer);
    for (const waiter of this.#queue.splice(0)) waiter.settle('closed');
    this.#pool.clear();
    await this.options.store.detach();
  }
}

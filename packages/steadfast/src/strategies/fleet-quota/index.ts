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
  /** How late after its slot a permit may still be used: one emission interval, at least 10 ms. */
  readonly #graceMs: number;
  readonly #maxLease: number;
  readonly #pool: LeasePool;
  readonly #queue: Waiter[] = [];
  readonly #closing = new AbortController();
  /** The local share, used while the store is down. */
  readonly #local = memoryQuotaStore();
  #leasing = false;
  #retryTimer: NodeJS.Timeout | undefined;
  /** After a denied lease: when the store said `min` permits would fit. */
  #readyAt: number | undefined;
  #fleetSize: number | undefined;
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
    this.#graceMs = Math.max(this.#emissionMs, 10);
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
      const at = this.#pool.peek(permits, now);
      if (at !== undefined && at <= now) {
        this.#commit(permits, now); // the steady state: a permit in hand, its time has come
        reportGrant(this.events, ctx, 'fleet_quota', permits, 0);
        return next(ctx);
      }
    }
    return this.#wait(ctx, next, permits, now);
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
      // Permits whose slot passed more than the grace ago (nobody was there to use them:
      // the event loop stalled) would bunch with the next ones: a waiter never gets them.
      this.#pool.dropBefore(now - this.#graceMs);
      const at = this.#pool.peek(head.permits, now);
      if (at === undefined) {
        if (this.#readyAt !== undefined && this.#readyAt > now) {
          this.#refuseBefore(this.#readyAt);
          return; // the retry timer serves the rest
        }
        this.#lease();
        return;
      }
      queue.shift();
      if (at > head.boundAt) {
        // Its slot comes too late: it gets nothing, and the permits stay for the next one.
        head.settle(head.boundReason, at - now);
        continue;
      }
      this.#commit(head.permits, now);
      head.settle(at);
    }
    this.#leaseAhead(performance.now());
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
    const min = Math.max(1, Math.min(this.#queue[0]?.permits ?? 1, this.#capacity) - held);
    const want = Math.min(
      this.#maxLease,
      Math.max(min, queued - held, Math.ceil(this.#rate(now) * this.options.leaseMs)),
    );
    const request: QuotaLeaseRequest = {
      want: Math.max(want, min),
      min,
      emissionMs: this.#emissionMs,
      burst: this.options.burst,
      horizonMs: this.options.leaseMs,
      instance: this.#instance,
    };
    const local = this.#fallbackUntil !== undefined && now < this.#fallbackUntil;
    const asked = performance.now();
    (local ? this.#leaseLocally(request, now) : this.#leaseFromStore(request)).then(
      (lease) =>
        this.#leased(request, lease, asked, local ? 'local_share' : this.options.store.kind),
      () => {
        this.#leasing = false;
        this.#fallBack(request);
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
    const held = this.#pool.size(now);
    this.#local.startAt('share', held > 0 ? this.#pool.end(now) + emissionMs : now);
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
      if (lease.fleetSize !== undefined) this.#fleetSize = lease.fleetSize;
      if (this.#fallbackUntil !== undefined) this.#rejoin();
    }
    this.#report(request.want, lease.granted, lease.granted > 0 ? 'ok' : 'denied', source);
    const emissionMs =
      source === 'local_share' ? this.options.intervalMs / this.#localLimit() : this.#emissionMs;
    if (lease.granted > 0) {
      this.#readyAt = undefined;
      // The store's "now" was somewhere in the round trip; reading it as its start is the
      // conservative choice (permits become usable no earlier than the store said).
      this.#pool.add(performance.now() + lease.firstInMs, lease.granted, emissionMs);
      this.#serve();
      return;
    }
    // Nothing fits yet: refuse who cannot wait that long, ask again when it would fit.
    this.#readyAt = asked + lease.retryInMs;
    this.#refuseBefore(this.#readyAt);
    this.#retryTimer = setTimeout(
      () => {
        this.#retryTimer = undefined;
        this.#readyAt = undefined;
        if (this.#queue.length > 0) this.#serve();
      },
      Math.max(1, lease.retryInMs),
    );
  }

  /** The store failed: keep to the local share, ask the store again in a second. */
  #fallBack(request: QuotaLeaseRequest): void {
    this.#report(request.want, 0, 'error', this.options.store.kind);
    const first = this.#fallbackUntil === undefined;
    this.#fallbackUntil = performance.now() + REJOIN_AFTER_MS;
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

  #rejoin(): void {
    this.#fallbackUntil = undefined;
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

  /** True while the instance keeps to its local share (the store failed). */
  get onLocalShare(): boolean {
    return this.#fallbackUntil !== undefined;
  }

  async dispose(): Promise<void> {
    this.#closing.abort();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    for (const waiter of this.#queue.splice(0)) waiter.settle('closed');
    this.#pool.clear();
    await this.options.store.detach();
  }
}

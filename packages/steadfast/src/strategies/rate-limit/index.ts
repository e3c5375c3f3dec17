import type { rateLimitSchema } from '../../config/admission-schema.js';
import type { Resolved } from '../../config/schema.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import { abortedOutcome } from '../../pipeline/outcomes.js';
import { onAbort } from '../../pipeline/signals.js';
import { sleep } from '../../pipeline/sleep.js';
import type { CallContext, Next, Outcome, Strategy } from '../../pipeline/types.js';
import { attemptWeight, refusal, reportGrant, waitBound } from '../admission.js';
import { FixedWindow, type PermitCounter, SlidingWindow, TokenBucket } from './counters.js';

export type ResolvedRateLimitOptions = Readonly<Resolved<typeof rateLimitSchema>>;

/** One attempt waiting for its permits. */
interface Waiter {
  readonly permits: number;
  /** Settle the wait: `true` granted, `false` refused (deadline, abort or close). */
  readonly settle: (granted: boolean) => void;
}

/** A partition: its counter and the attempts waiting on it, first come first served. */
class Partition {
  readonly queue: Waiter[] = [];
  queuedPermits = 0;
  timer: NodeJS.Timeout | undefined;
  /** When an attempt last used it (`performance.now()`): the oldest goes first when one must. */
  usedAt = 0;
  /** Token bucket: attempts holding a reservation, asleep until it is due. */
  reserved = 0;
  constructor(readonly counter: PermitCounter) {}
}

/** The counter the options ask for. */
function counterFor(o: ResolvedRateLimitOptions): PermitCounter {
  switch (o.algorithm) {
    case 'fixed_window':
      return new FixedWindow(o.limit, o.intervalMs);
    case 'sliding_window':
      return new SlidingWindow(o.limit, o.intervalMs, o.segments);
    default:
      return new TokenBucket(o.limit, o.intervalMs, o.burst ?? Math.ceil(o.limit));
  }
}

/**
 * The in-process rate limiter: every wire attempt takes `weight` permits of its partition.
 * An attempt that finds none free queues behind the others (FIFO: a light attempt never
 * overtakes a heavy one) until its permits are there, its deadline or `maxWaitMs` would
 * pass — then it fails at once with `RateLimitedError`, carrying the wait it would have
 * needed — or its caller aborts. It sits inside retry and re-authorization: re-sends spend
 * permits as the server counts them.
 */
export class RateLimiter implements Strategy {
  readonly name = 'rate_limiter';
  readonly #single: Partition | undefined;
  readonly #partitions = new Map<string, Partition>();
  #closed = false;
  /** Aborted by `dispose()`: wakes the attempts asleep on a reservation. */
  readonly #closing = new AbortController();

  constructor(
    private readonly options: ResolvedRateLimitOptions,
    private readonly events: ClientEvents,
  ) {
    this.#single = options.partition ? undefined : new Partition(counterFor(options));
  }

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const permits = attemptWeight(this.options.weight, ctx, 'rateLimit');
    if (typeof permits !== 'number') return Promise.resolve({ kind: 'error', error: permits });
    const partition = this.#single ?? this.#partition(this.options.partition!(ctx));
    const counter = partition.counter;
    if (permits > counter.capacity) {
      return Promise.resolve(
        refusal(this.events, ctx, 'rate_limiter', permits, 'weight_exceeds_capacity', Infinity),
      );
    }
    const now = performance.now();
    if (partition.queue.length === 0 && counter.availableAt(now, permits) <= now) {
      counter.take(now, permits); // the steady state: no wait, no promise of our own
      reportGrant(this.events, ctx, 'rate_limiter', permits, 0);
      return next(ctx);
    }
    return this.#wait(ctx, next, partition, permits, now);
  }

  async #wait(
    ctx: CallContext,
    next: Next,
    partition: Partition,
    permits: number,
    now: number,
  ): Promise<Outcome> {
    if (partition.counter instanceof TokenBucket) {
      return this.#reserve(ctx, next, partition, partition.counter, permits, now);
    }
    const bound = waitBound(ctx, this.options.maxWaitMs, now);
    // FIFO: this attempt is served after every permit queued before it.
    const at = this.#estimate(partition, partition.queuedPermits + permits, now);
    if (this.#closed) return refusal(this.events, ctx, 'rate_limiter', permits, 'closed', at - now);
    if (at > bound.at) {
      return refusal(this.events, ctx, 'rate_limiter', permits, bound.reason, at - now);
    }
    if (partition.queue.length >= this.options.queueLimit) {
      return refusal(this.events, ctx, 'rate_limiter', permits, 'queue_full', at - now);
    }
    const outcome = await this.#enqueue(ctx, partition, permits, bound.at);
    const waited = performance.now() - now;
    if (outcome === 'granted') {
      reportGrant(this.events, ctx, 'rate_limiter', permits, waited);
      return next(ctx);
    }
    if (outcome === 'aborted') return abortedOutcome(ctx);
    return refusal(
      this.events,
      ctx,
      'rate_limiter',
      permits,
      outcome === 'closed' ? 'closed' : bound.reason,
      Math.max(waited, this.#estimate(partition, permits, performance.now()) - now),
    );
  }

  /**
   * The token bucket reserves: the attempt takes its permits now, into debt, and sleeps until
   * the bucket will have held them — the next attempt's time counts that debt, so attempts
   * go first come, first served at exactly the bucket's rate, however late a timer fires (a
   * bucket that only handed out what it held at each wake-up would lose what refilled while
   * the timer was late). An attempt that leaves early gives its permits back.
   */
  async #reserve(
    ctx: CallContext,
    next: Next,
    partition: Partition,
    bucket: TokenBucket,
    permits: number,
    now: number,
  ): Promise<Outcome> {
    const bound = waitBound(ctx, this.options.maxWaitMs, now);
    const at = bucket.availableAt(now, permits);
    if (this.#closing.signal.aborted) {
      return refusal(this.events, ctx, 'rate_limiter', permits, 'closed', at - now);
    }
    if (at > bound.at) {
      return refusal(this.events, ctx, 'rate_limiter', permits, bound.reason, at - now);
    }
    if (partition.reserved >= this.options.queueLimit) {
      return refusal(this.events, ctx, 'rate_limiter', permits, 'queue_full', at - now);
    }
    bucket.take(now, permits);
    partition.reserved++;
    const slept = await sleep(at - now, ctx.signal, this.#closing.signal);
    partition.reserved--;
    if (!slept) {
      bucket.refund(performance.now(), permits);
      if (ctx.signal?.aborted) return abortedOutcome(ctx);
      return refusal(this.events, ctx, 'rate_limiter', permits, 'closed', at - now);
    }
    reportGrant(this.events, ctx, 'rate_limiter', permits, performance.now() - now);
    return next(ctx);
  }

  /**
   * When `permits` would be free at a window counter (the token bucket reserves instead),
   * counting whole windows for what is beyond one window's worth.
   */
  #estimate(partition: Partition, permits: number, now: number): number {
    const counter = partition.counter;
    if (permits <= counter.capacity) return counter.availableAt(now, permits);
    const windows = Math.ceil(permits / counter.capacity) - 1;
    return counter.availableAt(now, counter.capacity) + windows * this.options.intervalMs;
  }

  #enqueue(
    ctx: CallContext,
    partition: Partition,
    permits: number,
    boundAt: number,
  ): Promise<'granted' | 'late' | 'aborted' | 'closed'> {
    return new Promise((resolve) => {
      let forget: (() => void) | undefined;
      let late: NodeJS.Timeout | undefined;
      const leave = (result: 'late' | 'aborted') => {
        const index = partition.queue.indexOf(waiter);
        if (index < 0) return;
        partition.queue.splice(index, 1);
        partition.queuedPermits -= permits;
        settle(false, result);
        if (index === 0) this.#serve(partition); // the next one may fit now
      };
      const settle = (granted: boolean, why: 'late' | 'aborted' | 'closed' = 'closed') => {
        forget?.();
        if (late) clearTimeout(late);
        resolve(granted ? 'granted' : why);
      };
      const waiter: Waiter = { permits, settle: (granted) => settle(granted) };
      partition.queue.push(waiter);
      partition.queuedPermits += permits;
      if (ctx.signal) forget = onAbort(ctx.signal, () => leave('aborted'));
      if (Number.isFinite(boundAt)) {
        late = setTimeout(() => leave('late'), Math.max(0, boundAt - performance.now()));
      }
      if (partition.queue.length === 1) this.#serve(partition);
    });
  }

  /** Hand permits to the head of the queue while they are there; else wake when they will be. */
  #serve(partition: Partition): void {
    if (partition.timer) {
      clearTimeout(partition.timer);
      partition.timer = undefined;
    }
    const { queue, counter } = partition;
    while (queue.length > 0) {
      const head = queue[0]!;
      const now = performance.now();
      const at = counter.availableAt(now, head.permits);
      if (at > now) {
        partition.timer = setTimeout(() => this.#serve(partition), Math.max(1, at - now));
        return;
      }
      counter.take(now, head.permits);
      queue.shift();
      partition.queuedPermits -= head.permits;
      head.settle(true);
    }
  }

  #partition(key: string): Partition {
    const partitions = this.#partitions;
    const now = performance.now();
    let partition = partitions.get(key);
    if (!partition) {
      if (partitions.size >= this.options.maxPartitions) this.#evict(now);
      partition = new Partition(counterFor(this.options));
      partitions.set(key, partition);
    }
    // A field write, not a Map re-insertion per attempt: recency is read only to evict.
    partition.usedAt = now;
    return partition;
  }

  /**
   * Drop one partition nobody waits on: one that is full again if there is one (it holds
   * nothing worth keeping), else the least recently used. A scan, only when at the cap.
   */
  #evict(now: number): void {
    let oldest: [string, Partition] | undefined;
    for (const entry of this.#partitions) {
      const partition = entry[1];
      if (partition.queue.length > 0 || partition.reserved > 0) continue;
      if (partition.counter.idle(now)) {
        this.#partitions.delete(entry[0]);
        return;
      }
      if (!oldest || partition.usedAt < oldest[1].usedAt) oldest = entry;
    }
    if (oldest) this.#partitions.delete(oldest[0]);
  }

  /** End every waiting attempt with `RateLimitedError` of reason `closed`. */
  dispose(): void {
    this.#closed = true;
    this.#closing.abort();
    const all = this.#single ? [this.#single] : [...this.#partitions.values()];
    for (const partition of all) {
      if (partition.timer) clearTimeout(partition.timer);
      for (const waiter of partition.queue.splice(0)) waiter.settle(false);
      partition.queuedPermits = 0;
    }
  }
}

import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import type { ResolvedOptions } from '../config/options.js';
import { CircuitOpenError, PoolExhaustedError } from '../errors.js';
import { isTransient } from '../http/classify.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import type { BreakerState } from '../pipeline/events.js';
import type { CallContext, Next, Outcome, Strategy } from '../pipeline/types.js';

type BreakerSettings = Exclude<ResolvedOptions['circuitBreaker'], false>;

/** Thrown inside opossum's action so that it counts a transient outcome as a failure. */
class CountedFailure {
  constructor(readonly outcome: Outcome) {}
}

const OPEN_BREAKER_CODE = 'EOPENBREAKER';
const SHUTDOWN_CODE = 'ESHUTDOWN';

type Breaker = CircuitBreaker<[CallContext, Next], Outcome>;

/** One origin's breaker and when a call last used it (`performance.now()`). */
interface Entry {
  readonly breaker: Breaker;
  lastUsedAt: number;
}

const BUCKETS = 10; // opossum's rolling window: 10 buckets of samplingDurationMs / 10

/**
 * A breaker failure is a transient outcome that is not a 4xx: 5xx, network errors and
 * attempt timeouts. 408 and 429 are retried but never trip the breaker — they describe
 * this request or this client's rate, not the health of the origin.
 */
function countsAsFailure(outcome: Outcome): boolean {
  if (outcome.kind === 'response' && outcome.response.status < 500) return false;
  // An attempt that never left the pool (all connections busy) says nothing about the origin.
  if (outcome.kind === 'error' && outcome.error instanceof PoolExhaustedError) return false;
  return isTransient(outcome);
}

/**
 * One opossum breaker per origin (`scheme://host:port`). Only transient 5xx, network errors
 * and attempt timeouts count as failures: no 4xx (401, 403, 404, 408, 429, ...) trips it. Open → the attempt fails fast with
 * `CircuitOpenError`, which the retry strategy does not retry. After `breakDurationMs` one
 * probe is let through (half-open); its result closes or re-opens the breaker.
 *
 * opossum is configured lean: no timeout (ours are in the pipeline), no rolling
 * percentiles (latency is measured by our histograms), no snapshot events, and no timer of
 * its own: the window buckets of every breaker of the client rotate on one shared, unref'd
 * interval (opossum's `rotateBucketController`).
 *
 * Per-origin state is bounded: on each rotation, a breaker that is closed and has not been
 * used for a whole sampling window is dropped (its window is empty by then, so nothing is
 * lost), and at most `maxOrigins` breakers are kept — past it, the least recently used one
 * goes (a closed one first). A client that calls thousands of origins keeps neither
 * thousands of breakers nor their timers.
 */
export class PerOriginCircuitBreaker implements Strategy {
  readonly name = 'circuit_breaker';
  readonly #breakers = new Map<string, Entry>();
  readonly #states = new Map<string, BreakerState>();
  /** Emits `rotate` for every breaker's rolling window; one timer for all of them. */
  readonly #rotation = new EventEmitter();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly events: ClientEvents,
    private readonly client: string,
  ) {
    this.#rotation.setMaxListeners(0); // one listener per breaker, bounded by maxOrigins
  }

  /** The state of each origin's breaker, for telemetry and tests. */
  get states(): ReadonlyMap<string, BreakerState> {
    return this.#states;
  }

  /** Breakers alive now (one per origin called recently). */
  get size(): number {
    return this.#breakers.size;
  }

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const entry = this.#breakers.get(ctx.origin) ?? this.#create(ctx.origin);
    entry.lastUsedAt = ctx.startedAt;
    const breaker = entry.breaker;
    // Closed (the steady state): the attempt runs outside opossum's `fire()`, which costs a
    // promise chain, a semaphore and events per call (~+0.15× raw undici's CPU per request,
    // bench/RESULTS.md run 11). Its outcome is then booked into opossum's window.
    if (breaker.closed) return this.#closedAttempt(breaker, ctx, next);
    return this.#fire(breaker, ctx, next);
  }

  // `.then` rather than an async function: one promise per attempt instead of two (each
  // costs a promise hook when the app runs an OpenTelemetry context manager).
  #closedAttempt(breaker: Breaker, ctx: CallContext, next: Next): Promise<Outcome> {
    return next(ctx).then((outcome) => {
      if (!countsAsFailure(outcome)) {
        // Book it as what opossum's open rule reads: failures ÷ fires over its window. Not as
        // the 'success' event too: in opossum that only adds to a successes count nothing
        // reads and pushes a latency sample into the window's array even with percentiles
        // off — 8 bytes per call, ~7 MB at 30k calls/s over a 30 s window (bench/memory.ts).
        breaker.emit('fire');
        return outcome;
      }
      // A failure goes through `fire()` with the outcome already known, so opossum counts it
      // and decides, by its own rule, whether the breaker opens now. (Opened meanwhile by
      // other calls: nothing left to decide.)
      if (breaker.opened) return outcome;
      return breaker
        .fire(ctx, () => Promise.resolve(outcome))
        .then(
          () => outcome,
          // The booked failure (CountedFailure) comes back as a rejection, as intended.
          () => outcome,
        );
    });
  }

  async #fire(breaker: Breaker, ctx: CallContext, next: Next): Promise<Outcome> {
    try {
      return await breaker.fire(ctx, next);
    } catch (thrown) {
      if (thrown instanceof CountedFailure) return thrown.outcome;
      // Dropped (at maxOrigins) while this call was about to use it: go on without it.
      if ((thrown as { code?: unknown })?.code === SHUTDOWN_CODE) return next(ctx);
      if ((thrown as { code?: unknown })?.code === OPEN_BREAKER_CODE) {
        if (this.events.breakerRejected.hasListeners) this.events.breakerRejected.emit({ ctx });
        return { kind: 'error', error: new CircuitOpenError(ctx.method, ctx.url, ctx.origin) };
      }
      return { kind: 'error', error: thrown as Error };
    }
  }

  #create(origin: string): Entry {
    if (this.#breakers.size >= this.settings.maxOrigins) this.#evictLeastRecentlyUsed();
    this.#timer ??= this.#startRotation();
    const s = this.settings;
    const breaker = new CircuitBreaker<[CallContext, Next], Outcome>(
      async (ctx, next) => {
        const outcome = await next(ctx);
        if (countsAsFailure(outcome)) throw new CountedFailure(outcome);
        return outcome;
      },
      {
        timeout: false,
        errorThresholdPercentage: s.failureRatio * 100,
        volumeThreshold: s.minimumThroughput,
        rollingCountTimeout: s.samplingDurationMs,
        rollingCountBuckets: BUCKETS,
        rotateBucketController: this.#rotation,
        resetTimeout: s.breakDurationMs,
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
        name: origin,
      },
    );
    const transition = (to: BreakerState) => () => {
      const from = this.#states.get(origin) ?? 'closed';
      this.#states.set(origin, to);
      if (from !== to)
        this.events.breakerTransition.emit({ client: this.client, origin, from, to });
    };
    breaker.on('open', transition('open'));
    breaker.on('halfOpen', transition('half_open'));
    breaker.on('close', transition('closed'));
    const entry: Entry = { breaker, lastUsedAt: performance.now() };
    this.#breakers.set(origin, entry);
    this.#states.set(origin, 'closed');
    return entry;
  }

  #startRotation(): NodeJS.Timeout {
    const timer = setInterval(() => {
      this.#rotation.emit('rotate');
      this.#evictIdle();
    }, this.settings.samplingDurationMs / BUCKETS);
    timer.unref(); // a rolling window is no reason to keep the process alive
    return timer;
  }

  /** Drop the breakers that are closed and unused for a whole sampling window. */
  #evictIdle(): void {
    const idleSince = performance.now() - this.settings.samplingDurationMs;
    for (const [origin, entry] of this.#breakers) {
      if (entry.lastUsedAt < idleSince && entry.breaker.closed) this.#evict(origin, entry);
    }
  }

  /** At `maxOrigins`: make room by dropping the least recently used breaker, a closed one first. */
  #evictLeastRecentlyUsed(): void {
    let victim: [string, Entry] | undefined;
    for (const candidate of this.#breakers) {
      const [, entry] = candidate;
      const better =
        victim === undefined ||
        (entry.breaker.closed && !victim[1].breaker.closed) ||
        (entry.breaker.closed === victim[1].breaker.closed &&
          entry.lastUsedAt < victim[1].lastUsedAt);
      if (better) victim = candidate;
    }
    if (victim) this.#evict(victim[0], victim[1]);
  }

  #evict(origin: string, entry: Entry): void {
    entry.breaker.shutdown(); // its listeners, its rotation listener, its reset timer
    this.#breakers.delete(origin);
    this.#states.delete(origin);
  }

  dispose(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const entry of this.#breakers.values()) entry.breaker.shutdown();
    this.#breakers.clear();
  }
}

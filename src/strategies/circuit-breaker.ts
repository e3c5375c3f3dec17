import CircuitBreaker from 'opossum';
import type { ResolvedOptions } from '../config/options.js';
import { CircuitOpenError } from '../errors.js';
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

type Breaker = CircuitBreaker<[CallContext, Next], Outcome>;

/**
 * A breaker failure is a transient outcome that is not a 4xx: 5xx, network errors and
 * attempt timeouts. 408 and 429 are retried but never trip the breaker — they describe
 * this request or this client's rate, not the health of the origin.
 */
function countsAsFailure(outcome: Outcome): boolean {
  if (outcome.kind === 'response' && outcome.response.status < 500) return false;
  return isTransient(outcome);
}

/**
 * One opossum breaker per origin (`scheme://host:port`). Only transient 5xx, network errors
 * and attempt timeouts count as failures: no 4xx (401, 403, 404, 408, 429, ...) trips it. Open → the attempt fails fast with
 * `CircuitOpenError`, which the retry strategy does not retry. After `breakDurationMs` one
 * probe is let through (half-open); its result closes or re-opens the breaker.
 *
 * opossum is configured lean: no timeout (ours are in the pipeline), no rolling
 * percentiles (latency is measured by our histograms), no snapshot events.
 */
export class PerOriginCircuitBreaker implements Strategy {
  readonly name = 'circuit_breaker';
  readonly #breakers = new Map<string, Breaker>();
  readonly #states = new Map<string, BreakerState>();

  constructor(
    private readonly settings: BreakerSettings,
    private readonly events: ClientEvents,
    private readonly client: string,
  ) {}

  /** The state of each origin's breaker, for telemetry and tests. */
  get states(): ReadonlyMap<string, BreakerState> {
    return this.#states;
  }

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const breaker = this.#breakers.get(ctx.origin) ?? this.#create(ctx.origin);
    // Closed (the steady state): the attempt runs outside opossum's `fire()`, which costs a
    // promise chain, a semaphore and events per call (~+0.15× raw undici's CPU per request,
    // bench/RESULTS.md run 11). Its outcome is then booked into opossum's window.
    if (breaker.closed) return this.#closedAttempt(breaker, ctx, next);
    return this.#fire(breaker, ctx, next);
  }

  async #closedAttempt(breaker: Breaker, ctx: CallContext, next: Next): Promise<Outcome> {
    const outcome = await next(ctx);
    if (!countsAsFailure(outcome)) {
      // Book it as what opossum's open rule reads: failures ÷ fires over its window. Not as
      // the 'success' event too: in opossum that only adds to a successes count nothing
      // reads and pushes a latency sample into the window's array even with percentiles
      // off — 8 bytes per call, ~7 MB at 30k calls/s over a 30 s window (bench/memory.ts).
      breaker.emit('fire');
      return outcome;
    }
    // A failure goes through `fire()` with the outcome already known, so opossum counts it
    // and decides, by its own rule, whether the breaker opens now. (Opened meanwhile by other
    // calls: nothing left to decide.)
    if (breaker.opened) return outcome;
    try {
      await breaker.fire(ctx, () => Promise.resolve(outcome));
    } catch {
      // The booked failure (CountedFailure) comes back as a rejection, as intended.
    }
    return outcome;
  }

  async #fire(breaker: Breaker, ctx: CallContext, next: Next): Promise<Outcome> {
    try {
      return await breaker.fire(ctx, next);
    } catch (thrown) {
      if (thrown instanceof CountedFailure) return thrown.outcome;
      if ((thrown as { code?: unknown })?.code === OPEN_BREAKER_CODE) {
        if (this.events.breakerRejected.hasListeners) this.events.breakerRejected.emit({ ctx });
        return { kind: 'error', error: new CircuitOpenError(ctx.method, ctx.url, ctx.origin) };
      }
      return { kind: 'error', error: thrown as Error };
    }
  }

  #create(origin: string): Breaker {
    const s = this.settings;
    const buckets = 10;
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
        rollingCountBuckets: buckets,
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
    this.#breakers.set(origin, breaker);
    this.#states.set(origin, 'closed');
    return breaker;
  }

  dispose(): void {
    for (const breaker of this.#breakers.values()) breaker.shutdown();
    this.#breakers.clear();
  }
}

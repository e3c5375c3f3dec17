import type { ResolvedOptions } from '../config/options.js';
import { AttemptBoundary } from '../strategies/attempt-boundary.js';
import { AttemptTimeout } from '../strategies/attempt-timeout.js';
import { CallBoundary } from '../strategies/call-boundary.js';
import { PerOriginCircuitBreaker } from '../strategies/circuit-breaker.js';
import { ConcurrencyLimiter } from '../strategies/concurrency-limiter.js';
import { Deadline } from '../strategies/deadline.js';
import { Retry } from '../strategies/retry/index.js';
import type { ClientEvents } from './client-events.js';
import type { Strategy } from './types.js';

/** Optional layers that other parts of the SDK plug into the standard order. */
export interface PipelineLayers {
  /** Tracing: the logical-call span (outermost). */
  readonly callTelemetry?: Strategy | undefined;
  /** Slot 4: re-authorization (attach the token per attempt, handle 401). */
  readonly reauthorization?: Strategy | undefined;
  /** Fault injection, just above the wire (inside the attempt timeout), so injected faults meet every strategy like real ones. */
  readonly chaos?: Strategy | undefined;
  /** Tracing: the CLIENT span of each wire attempt. */
  readonly attemptTelemetry?: Strategy | undefined;
}

/**
 * THE pipeline order, outermost first. This is the one place to read it.
 *
 *  1. concurrency limiter — rejects at once when full; outermost, so rejections are never retried
 *  2. deadline            — one total timeout every inner strategy sees (`ctx.deadline`)
 *  3. retry               — transient outcomes only, backoff + jitter, Retry-After, budget
 *  4. re-authorization    — token per attempt; a 401 re-sends once at zero delay
 *  5. circuit breaker     — per origin; sees every wire attempt, 401 re-sends included
 *  6. attempt timeout     — min(attempt timeout, time left to the deadline)
 *  7. transport           — undici (the terminal `next`, not in this list)
 *
 * Telemetry boundaries wrap the call (outside 1) and each attempt (between 5 and 6).
 */
export function standardPipeline(
  options: ResolvedOptions,
  events: ClientEvents,
  layers: PipelineLayers,
): {
  strategies: Strategy[];
  limiter: ConcurrencyLimiter;
  breaker: PerOriginCircuitBreaker | undefined;
} {
  const limiter = new ConcurrencyLimiter(
    options.concurrency.limit,
    options.concurrency.queue,
    events,
    options.name,
  );
  const breaker = options.circuitBreaker
    ? new PerOriginCircuitBreaker(options.circuitBreaker, events, options.name)
    : undefined;
  const strategies = [
    layers.callTelemetry,
    new CallBoundary(events),
    limiter,
    new Deadline(options.totalTimeoutMs),
    options.retry ? new Retry(options.retry, events) : undefined,
    layers.reauthorization,
    breaker,
    layers.attemptTelemetry,
    new AttemptBoundary(events),
    new AttemptTimeout(options.attemptTimeoutMs, events),
    layers.chaos,
  ].filter((s): s is Strategy => s !== undefined);
  return { strategies, limiter, breaker };
}

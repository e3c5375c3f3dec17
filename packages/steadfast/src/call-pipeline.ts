import { scopeToOrigins } from './auth/token-scope.js';
import type { ResolvedOptions } from './config/options.js';
import { UndiciTransport } from './http/transport.js';
import type { ClientEvents } from './pipeline/client-events.js';
import { compose } from './pipeline/compose.js';
import type { CallContext, Next, Strategy, Transport } from './pipeline/types.js';
import { AdaptiveConcurrencyLimiter } from './strategies/adaptive-concurrency/index.js';
import { AdaptiveThrottle } from './strategies/adaptive-throttle/index.js';
import { AttemptBoundary } from './strategies/attempt-boundary.js';
import { AttemptTimeout } from './strategies/attempt-timeout.js';
import { CallBoundary } from './strategies/call-boundary.js';
import { Chaos } from './strategies/chaos/index.js';
import { PerOriginCircuitBreaker } from './strategies/circuit-breaker.js';
import { ConcurrencyLimiter } from './strategies/concurrency-limiter.js';
import { Cooldown } from './strategies/cooldown/index.js';
import { Deadline } from './strategies/deadline.js';
import { Fallback } from './strategies/fallback/index.js';
import { FleetQuota } from './strategies/fleet-quota/index.js';
import { Hedging } from './strategies/hedging/index.js';
import { Hooks } from './strategies/hooks/index.js';
import type { ResolvedHooks } from './strategies/hooks/types.js';
import { RateLimiter } from './strategies/rate-limit/index.js';
import { Retry } from './strategies/retry/index.js';
import { createTelemetry } from './telemetry/index.js';

/** A client's call pipeline, built once per client. */
export interface CallPipeline {
  /** Run one call through every layer. */
  readonly execute: Next;
  /** Every layer in order, outermost first (the transport is the terminal, not in here). */
  readonly strategies: readonly Strategy[];
  /** The fixed client-wide limiter, or the adaptive one with a limit per origin. */
  readonly limiter: ConcurrencyLimiter | AdaptiveConcurrencyLimiter;
  readonly breaker: PerOriginCircuitBreaker | undefined;
  readonly transport: Transport;
  /**
   * The same layers — the same limiter, breakers, retry budget, token and pools — with
   * `hooks` in the hook layer and the retry layer's `beforeRetry`: what a derived client
   * (`client.extend`) with hooks of its own runs its calls through. Built once per such
   * client; no layer is added or copied.
   */
  withHooks(hooks: ResolvedHooks): Next;
  /**
   * Wake what waits in the layers (retry sleeps, the limiter's queue, token waits), end what
   * is on the wire with `reasonFor(ctx)` and destroy the sockets, then unsubscribe telemetry.
   */
  close(reasonFor: (ctx: CallContext) => Error): Promise<void>;
}

/**
 * THE composition root: every layer of a call, in order, outermost first. This is the one
 * place to read the pipeline; client.ts only creates calls and hands them to it.
 *
 *  1. call span           telemetry: the logical-call span (off when tracing is off)
 *  2. call boundary       callStart / callEnd events: what the call metrics count
 *  3. fallback            (only when configured) answers for the failures it names: the
 *                         last good response to the same request (serve stale), else its
 *                         handler's. Inside 1 and 2, so the call span and callEnd see what
 *                         the caller gets; outside the limit, the deadline and retry, so it
 *                         answers for a refused call, a timed-out call, a 5xx after every
 *                         retry, and records only what the caller finally reads
 *  4. concurrency limit   rejects at once when full; outside retry, so never retried.
 *                         Fixed (`concurrency.limit`, client-wide) or, with
 *                         `concurrency.adaptive`, a limit per origin that AIMD or a latency
 *                         gradient moves: a slot is held for the whole call, so the limit
 *                         learns from whole calls — a call sent once gives a round trip, a
 *                         refused, timed-out or re-sent one a drop
 *  5. deadline            one total timeout every inner layer sees (`ctx.deadline`)
 *  6. retry               transient outcomes only: backoff + jitter, Retry-After, budget;
 *                         runs the `beforeRetry` hooks, which may cancel a re-send
 *  7. hedging             (only when configured) no answer within the hedge delay, or a
 *                         failure: another attempt of the call goes out while the first
 *                         runs, the first acceptable outcome wins, the rest are cancelled.
 *                         Inside retry (a group whose every attempt failed is retried
 *                         whole) and the deadline (shared by all attempts); outside 8 and
 *                         everything below it, so each attempt, a fork of the call, carries
 *                         its own token, takes its own permits, runs the hooks and meets
 *                         the breaker of its own endpoint
 *  8. re-authorization    a token per attempt, only to its origins; a 401 re-sends once
 *  9. admission           each only when configured, every wire attempt waits here for
 *                         its permits (FIFO, within the deadline) or fails with
 *                         RateLimitedError, never retried. Inside 6 and 8, because the
 *                         server counts re-sends and 401 re-sends like first attempts; above
 *                         the hooks, so a signature a hook adds is fresh when it is sent;
 *                         outside 11, so a pause or a wait is never a breaker failure.
 *     a. adaptive throttle (only when configured) the SRE book's client-side throttling,
 *                         per origin: refuses an attempt here with probability
 *                         max(0, (requests − k·accepts) / (requests + 1)). First, so a local
 *                         refusal costs no permit, no quota and no wait; inside retry, so
 *                         each re-send is counted as the backend counts it
 *     b. cooldown         the server asked for a pause (429/503 Retry-After, RateLimit
 *                         headers): before the limiters, so a paused attempt spends no
 *                         permit; one probe in the fleet after the pause
 *     c. rate limiter     in-process token bucket / sliding / fixed window, per partition
 *     d. fleet quota      permits leased from the shared store (GCRA): last, so an attempt
 *                         the local limiter refuses costs the fleet nothing
 * 10. hooks               `beforeRequest` / `afterResponse` (only when given): inside 8, so
 *                         the token is on the request and every re-send runs them again;
 *                         outside 11, so the breaker judges the wire, never a HookError or a
 *                         hook's replacement, while retry and 8 decide on what they return
 * 11. circuit breaker     per origin (so per hedging endpoint); sees every wire attempt,
 *                         401 re-sends included
 * 12. attempt span        telemetry: the CLIENT span of each wire attempt, `traceparent`
 * 13. attempt boundary    attemptStart / attemptEnd events
 * 14. attempt timeout     min(attempt timeout, time left to the deadline)
 * 15. chaos               injected faults, just above the wire, so every layer meets them
 *                         as it would meet real ones (off unless `chaos` is configured)
 * 16. transport           undici keep-alive pools (the terminal)
 *
 * `transport` replaces 16 (benchmarks put a no-op there to time the layers alone). The
 * `beforeError` hooks run in client.ts, on what a call rejects with.
 */
export function buildCallPipeline(
  options: ResolvedOptions,
  events: ClientEvents,
  transport: Transport = new UndiciTransport(options),
): CallPipeline {
  const { auth, hooks } = options;
  const throttle = options.adaptiveThrottle
    ? new AdaptiveThrottle(options.adaptiveThrottle, events)
    : undefined;
  const telemetry = createTelemetry(options.telemetry, {
    client: options.name,
    events,
    auth,
    origins: options.origins,
    quotaLimitPerSecond: options.quota
      ? (options.quota.limit * 1000) / options.quota.intervalMs
      : undefined,
    rateLimiter: options.rateLimit !== false,
    cooldown: options.cooldown !== false,
    adaptiveThrottle: throttle !== undefined,
    throttleProbe: throttle && (() => throttle.counts()),
    adaptiveConcurrency: options.concurrency.adaptive || undefined,
    hedging: options.hedging !== false,
    fallback: options.fallback !== false,
  });
  const { adaptive } = options.concurrency;
  const limiter = adaptive
    ? new AdaptiveConcurrencyLimiter(adaptive, options.concurrency.queue, events, options.name)
    : new ConcurrencyLimiter(
        options.concurrency.limit,
        options.concurrency.queue,
        events,
        options.name,
      );
  const breaker = options.circuitBreaker
    ? new PerOriginCircuitBreaker(options.circuitBreaker, events, options.name)
    : undefined;

  // Also with `retry: false`: a call may bring its own `retry`.
  const retry = new Retry(options.retry, events, hooks.beforeRetry);
  const reauthorization = auth
    ? scopeToOrigins(auth.createStrategy(events), options.authOrigins, events)
    : undefined;
  const { rateLimit, quota, cooldown } = options;
  const fallback = options.fallback
    ? new Fallback(options.fallback, events, options.headers)
    : undefined;
  const admission = [
    throttle,
    cooldown ? new Cooldown(cooldown, events, options.name) : undefined,
    rateLimit ? new RateLimiter(rateLimit, events) : undefined,
    quota ? new FleetQuota(quota, events, options.name) : undefined,
  ];
  // Attempts waiting for a permit or a pause's end must leave the wait when cancelled.
  const hedging = options.hedging
    ? new Hedging(options.hedging, events, Boolean(cooldown || rateLimit || quota))
    : undefined;
  const [callBoundary, deadline, attemptBoundary, attemptTimeout, chaos] = [
    new CallBoundary(events),
    new Deadline(options.totalTimeoutMs),
    new AttemptBoundary(events),
    new AttemptTimeout(options.attemptTimeoutMs, events),
    options.chaos ? new Chaos(options.chaos, events) : undefined,
  ];
  /** The order of the layers, with the hooks of `h` (the client's, or a derived client's). */
  const layers = (h: ResolvedHooks): Strategy[] =>
    [
      telemetry.callLayer,
      callBoundary,
      fallback,
      limiter,
      deadline,
      h === hooks ? retry : retry.withBeforeRetry(h.beforeRetry),
      hedging,
      reauthorization,
      ...admission,
      h.beforeRequest || h.afterResponse
        ? new Hooks(h.beforeRequest, h.afterResponse, events)
        : undefined,
      breaker,
      telemetry.attemptLayer,
      attemptBoundary,
      attemptTimeout,
      chaos,
    ].filter((s): s is Strategy => s !== undefined);
  const strategies = layers(hooks);
  const terminal: Next = (ctx) => transport.execute(ctx);

  return {
    execute: compose(strategies, terminal),
    strategies,
    limiter,
    breaker,
    transport,
    withHooks: (h) => compose(layers(h), terminal),
    async close(reasonFor) {
      for (const strategy of strategies) await strategy.dispose?.();
      await transport.close(reasonFor);
      telemetry.dispose();
    },
  };
}

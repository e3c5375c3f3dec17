// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (options.ts)

import type { Dispatcher } from 'undici';
import type { Authorization } from '../auth/types.js';
import type { CallContext, Outcome } from '../pipeline/types.js';
import type { AdaptiveConcurrencyOptions } from '../strategies/adaptive-concurrency/options.js';
import type { AdaptiveThrottleOptions } from '../strategies/adaptive-throttle/options.js';
import type { ChaosOptions } from '../strategies/chaos/types.js';
import type { CooldownOptions } from '../strategies/cooldown/options.js';
import type { FallbackOptions } from '../strategies/fallback/options.js';
import type { QuotaOptions } from '../strategies/fleet-quota/options.js';
import type { HedgingOptions } from '../strategies/hedging/options.js';
import type {
  AfterResponseHook,
  BeforeErrorHook,
  BeforeRequestHook,
  BeforeRetryHook,
} from '../strategies/hooks/types.js';
import type { RateLimitOptions } from '../strategies/rate-limit/options.js';
import type { TelemetryOptions } from '../telemetry/types.js';
import type { BackoffKind } from './resolved.js';

export type { BackoffKind, ResolvedOptions } from './resolved.js';

/** Retry budget: caps retries as a share of calls in a sliding window. */
export interface RetryBudgetOptions {
  /**
   * Share of calls in the window that may be retried, in [0, 1].
   *
   * @defaultValue `0.2` (20 %)
   */
  readonly ratio?: number;
  /**
   * Retries per second always allowed, whatever the traffic.
   *
   * @defaultValue `10`
   */
  readonly minRetriesPerSecond?: number;
  /**
   * Sliding window length, in [1 000, 600 000] ms.
   *
   * @defaultValue `10_000` (10 s)
   */
  readonly windowMs?: number;
}

/** Options of the retry strategy. */
export interface RetryOptions {
  /**
   * Re-sends after the first attempt, in [0, 100]. `0` disables retries.
   *
   * @defaultValue `3`
   */
  readonly maxRetries?: number;
  /**
   * Shape of the delays between attempts.
   *
   * @defaultValue `'exponential'`
   */
  readonly backoff?: BackoffKind;
  /**
   * Decorrelated jitter on the backoff delay.
   *
   * @defaultValue `true`
   */
  readonly jitter?: boolean;
  /**
   * Delay before the first retry, in ms.
   *
   * @defaultValue `2_000` (2 s)
   */
  readonly baseDelayMs?: number;
  /**
   * Upper bound of a backoff delay, in ms; at least `baseDelayMs`.
   *
   * @defaultValue `30_000` (30 s)
   */
  readonly maxDelayMs?: number;
  /**
   * Longest `Retry-After` the retry strategy waits for, in ms. A longer one (or one past the
   * deadline) ends the call at once with the server's response: it never re-sends before the
   * server's `Retry-After`.
   *
   * @defaultValue `60_000` (1 min)
   */
  readonly maxRetryAfterMs?: number;
  /**
   * Retry POST/PATCH on ambiguous failures too; otherwise only with an `Idempotency-Key`.
   *
   * @defaultValue `false`
   */
  readonly retryUnsafeMethods?: boolean;
  /**
   * Decide whether an outcome is worth retrying. Receives the default decision, so it can extend
   * (`byDefault || ...`) or replace the rule. Method and budget rules still apply.
   *
   * @defaultValue the default decision
   */
  readonly shouldRetry?: (outcome: Outcome, ctx: CallContext, byDefault: boolean) => boolean;
  /**
   * Retry budget: caps retries as a share of calls in a sliding window. `false` turns it off.
   *
   * @defaultValue on, with the defaults of {@link RetryBudgetOptions}
   */
  readonly budget?: RetryBudgetOptions | false;
  /**
   * Source of randomness for jitter, in [0, 1); pass a seeded one for repeatable runs.
   *
   * @defaultValue `Math.random`
   */
  readonly random?: () => number;
}

/** Options of the per-origin circuit breaker (opossum). */
export interface CircuitBreakerOptions {
  /**
   * Failure ratio, in (0, 1], of transient failures that opens the breaker.
   *
   * @defaultValue `0.1` (10 %)
   */
  readonly failureRatio?: number;
  /**
   * Attempts in the sampling window before the ratio is considered.
   *
   * @defaultValue `100`
   */
  readonly minimumThroughput?: number;
  /**
   * Sampling window, in ms. Must be ≥ 2 × attemptTimeoutMs.
   *
   * @defaultValue `30_000` (30 s)
   */
  readonly samplingDurationMs?: number;
  /**
   * How long the breaker stays open before a half-open probe, in ms.
   *
   * @defaultValue `5_000` (5 s)
   */
  readonly breakDurationMs?: number;
  /**
   * Most origins with a breaker at once. A closed breaker unused for a sampling window is dropped
   * anyway; past this many, the least recently used one goes.
   *
   * @defaultValue `1_000`
   */
  readonly maxOrigins?: number;
}

/** Options of the concurrency limiter. */
export interface ConcurrencyOptions {
  /**
   * Calls in flight at once, client-wide. Not used with `adaptive`, whose limits are per origin.
   *
   * @defaultValue `1_000`
   */
  readonly limit?: number;
  /**
   * Calls that may wait for a slot; `0` rejects at once when full. With `adaptive`, per origin.
   *
   * @defaultValue `0`
   */
  readonly queue?: number;
  /**
   * An adaptive concurrency limit per origin, in place of the fixed client-wide
   * `concurrency.limit` (Netflix concurrency-limits' idea: a limit found the way TCP finds its
   * window). `concurrency.queue` keeps its meaning, per origin; a call past the limit and the
   * queue fails at once with `ConcurrencyLimitedError`, never retried. What the limit learns from
   * is each call that was sent once: its time from admission to outcome, or a drop — a 429, 503 or
   * 504, a timeout, a network error, or a call that was re-sent (its time holds a backoff, so it
   * is no round trip). `false` turns it off.
   *
   * @defaultValue off
   */
  readonly adaptive?: AdaptiveConcurrencyOptions | false;
}

/** Options of the undici transport. */
export interface TransportOptions {
  /**
   * Keep-alive connections per origin.
   *
   * @defaultValue `128`
   */
  readonly connectionsPerOrigin?: number;
  /**
   * Idle keep-alive socket lifetime, in ms.
   *
   * @defaultValue `4_000` (4 s)
   */
  readonly keepAliveTimeoutMs?: number;
  /**
   * TCP/TLS connect timeout, in ms.
   *
   * @defaultValue `10_000` (10 s)
   */
  readonly connectTimeoutMs?: number;
  /**
   * Use this undici Dispatcher instead of creating one (the client will not close it).
   *
   * @defaultValue a new undici Agent, closed with the client
   */
  readonly dispatcher?: Dispatcher;
}

/**
 * Hooks: your code at fixed points of every call. Each takes one function or an array run in
 * order; each may be async (a synchronous one costs no promise turn). A hook that throws ends the
 * call with `HookError` (the thrown value as `cause`; its message never quotes it). Changes appear
 * on the call span as `steadfast.hook.*` events.
 */
export interface ClientHooks {
  /**
   * `(ctx) => void`: before every wire attempt, re-sends and 401 re-sends included, after the
   * token was attached. Set or delete headers on `ctx.headers` (lower-case names): a request id, a
   * signature.
   *
   * @defaultValue none
   */
  readonly beforeRequest?: BeforeRequestHook | readonly BeforeRequestHook[];
  /**
   * `(ctx, response) => Response | retryableFailure() | void`: after every wire attempt that got a
   * response, before re-authorization and retry decide on it. Return a `Response` to replace it,
   * `retryableFailure()` to make it a transient failure (`ResponseRejectedError`), nothing to keep
   * it. Reading its body here leaves it readable for the caller.
   *
   * @defaultValue none
   */
  readonly afterResponse?: AfterResponseHook | readonly AfterResponseHook[];
  /**
   * `(ctx, { attempt, delayMs, delaySource, reason, status, error }) => boolean | void`: when the
   * retry strategy is about to re-send. Return `false` to cancel: the call ends with its last
   * outcome, stop reason `hook_cancelled`.
   *
   * @defaultValue none
   */
  readonly beforeRetry?: BeforeRetryHook | readonly BeforeRetryHook[];
  /**
   * `(error) => Error | void`: before a call rejects; return an error to reject with it instead.
   *
   * @defaultValue none
   */
  readonly beforeError?: BeforeErrorHook | readonly BeforeErrorHook[];
}

/** Options of `createClient`. Validated once, at construction. */
export interface ClientOptions {
  /** Low-cardinality client name: span names and the `client` metric label. Required. */
  readonly name: string;
  /**
   * Base URL relative paths resolve against, e.g. `http://weather:8080/api/`.
   *
   * @defaultValue none (every call gives an absolute URL)
   */
  readonly baseUrl?: string;
  /**
   * OAuth2 authorization (e.g. `clientCredentials(...)`).
   *
   * @defaultValue none
   */
  readonly auth?: Authorization;
  /**
   * Options of the concurrency limiter.
   *
   * @defaultValue on, with the defaults of {@link ConcurrencyOptions}
   */
  readonly concurrency?: ConcurrencyOptions;
  /**
   * Deadline for the whole call, backoff included, in ms.
   *
   * @defaultValue `30_000` (30 s)
   */
  readonly totalTimeoutMs?: number;
  /**
   * Bound on one wire attempt, in ms. Must be ≤ totalTimeoutMs; when it is not given and
   * totalTimeoutMs is shorter than its default, it is totalTimeoutMs.
   *
   * @defaultValue `10_000` (10 s)
   */
  readonly attemptTimeoutMs?: number;
  /**
   * Largest response body read whole — `text()`, `json()`, `arrayBuffer()`, `bytes()`, `blob()`
   * and the JSON helpers — in bytes; a larger one rejects with `ResponseTooLargeError` and its
   * connection is closed. Streaming reads are not limited. Overridable per call.
   *
   * @defaultValue `33_554_432` (32 MiB)
   */
  readonly maxResponseBytes?: number;
  /**
   * While a response body is being read, the longest the server may send nothing, in ms; then the
   * read rejects with a `TimeoutError` of kind `body` and the connection is closed.
   *
   * @defaultValue `30_000` (30 s)
   */
  readonly bodyTimeoutMs?: number;
  /**
   * Origins besides `baseUrl`'s that may receive the access token of `auth`. The token is attached
   * only to requests for these origins; a request to any other origin is sent without it (the call
   * span says so).
   *
   * @defaultValue `baseUrl`'s origin only
   */
  readonly authOrigins?: readonly string[];
  /**
   * Options of the retry strategy. `false` turns it off.
   *
   * @defaultValue on, with the defaults of {@link RetryOptions}
   */
  readonly retry?: RetryOptions | false;
  /**
   * Options of the per-origin circuit breaker (opossum). `false` turns it off.
   *
   * @defaultValue on, with the defaults of {@link CircuitBreakerOptions}
   */
  readonly circuitBreaker?: CircuitBreakerOptions | false;
  /**
   * Options of the undici transport.
   *
   * @defaultValue on, with the defaults of {@link TransportOptions}
   */
  readonly transport?: TransportOptions;
  /**
   * Metrics and tracing.
   *
   * @defaultValue both on (metrics on the SDK's default registry)
   */
  readonly telemetry?: TelemetryOptions;
  /**
   * Extra origins this client calls besides `baseUrl` (bounded `server_address` label values).
   *
   * @defaultValue `baseUrl`'s origin only
   */
  readonly origins?: readonly string[];
  /**
   * Fault injection (Simmy-style), opt-in: without `chaos` in the client options the layer is not
   * in the pipeline at all. It sits just above the wire, inside the attempt timeout, so an
   * injected fault meets retry, breaker, re-authorization and timeouts exactly like a real one.
   * Three triggers, checked in this order for every wire attempt: the request header
   * (`x-steadfast-chaos: 503`, stripped before sending); the async context
   * (`withInjectedFault('503', () => client.fetch(...))`); the rates below, one seeded draw per
   * attempt. Every injection emits `events.faultInjected`; injected responses carry
   * `x-steadfast-chaos: injected` and injected errors have `injected: true` (the caller sees a
   * `NetworkError` with it as `cause`), so nobody mistakes them for real faults. `false` turns it
   * off.
   *
   * @defaultValue off
   */
  readonly chaos?: ChaosOptions | false;
  /**
   * Headers sent with every call (e.g. `{ 'user-agent': 'billing/1.4' }`). A call's own headers
   * win, whatever the case of their names. Checked here (names, values); never logged.
   *
   * @defaultValue none
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Hooks: your code at fixed points of every call. Each takes one function or an array run in
   * order; each may be async (a synchronous one costs no promise turn). A hook that throws ends
   * the call with `HookError` (the thrown value as `cause`; its message never quotes it). Changes
   * appear on the call span as `steadfast.hook.*` events.
   *
   * @defaultValue on, with the defaults of {@link ClientHooks}
   */
  readonly hooks?: ClientHooks;
  /**
   * An in-process rate limiter (Polly's token bucket, sliding window and fixed window): every wire
   * attempt — retries and 401 re-sends included, as the server counts them — takes a permit. An
   * attempt waits for its permit in FIFO order up to the call's deadline (or `maxWaitMs`); one
   * that cannot get it in time fails with `RateLimitedError` (never retried), carrying the wait it
   * would have needed. `false` turns it off.
   *
   * @defaultValue off
   */
  readonly rateLimit?: RateLimitOptions | false;
  /**
   * A fleet-wide quota: `limit` permits per `intervalMs` shared by every instance that uses the
   * same `key` and store — the downstream's "600 requests per minute per client id". Every wire
   * attempt takes a permit. Instances lease permits in batches sized from their recent rate (GCRA
   * in one Lua script on Redis), so the steady state costs far less than one Redis command per
   * call, and every permit has its time slot, so the fleet never goes over the limit by more than
   * `burst`. While the store is down each instance keeps to its share (`limit` ÷ the last fleet
   * size it saw, or `fallbackLimit`) and rejoins when the store is back. `false` turns it off.
   *
   * @defaultValue off
   */
  readonly quota?: QuotaOptions | false;
  /**
   * Server-driven cooldown: a `429` or `503` with `Retry-After`, or a `RateLimit` (IETF httpapi
   * draft), `RateLimit-Remaining: 0` or `X-RateLimit-Remaining: 0` answer with its reset, pauses
   * that scope (the origin, by default) until the time the server named (at most `maxMs`) — for
   * the whole fleet when the store is shared (Redis), for this process otherwise. Attempts in the
   * pause wait for its end within their deadline (or `maxWaitMs`), else fail at once with
   * `RateLimitedError` carrying the time left; after the pause one attempt in the fleet goes first
   * as a probe, and the rest follow when it is answered. `true` or an object turns it on, `false`
   * keeps it off.
   *
   * @defaultValue off
   */
  readonly cooldown?: CooldownOptions | boolean;
  /**
   * Client-side adaptive throttling (Google SRE book, "Handling Overload"), per origin: over the
   * last `windowMs` this client counts its `requests` (every wire attempt, those it refused itself
   * included) and the `accepts` (attempts the backend did not refuse: any answer but a 429, 503 or
   * 504, no timeout on the wire, no connection failure), and refuses an attempt itself, before it
   * is sent, with probability max(0, (requests − k × accepts) / (requests + 1)). A backend that
   * accepts everything sees no change; one that refuses gets about `k` times what it accepts, the
   * rest refused locally at no cost to it. A local refusal is `RateLimitedError` (limiter
   * `adaptive_throttle`, reason `throttled`), never retried. `false` turns it off.
   *
   * @defaultValue off
   */
  readonly adaptiveThrottle?: AdaptiveThrottleOptions | false;
  /**
   * Fallback: an answer in place of a failure the call would end with — the last good answer to
   * the same request (`serveStale`), then the `handler`'s. Only for the failures `on` names; every
   * other outcome passes untouched, and a caller's abort or a closed client never gets one. A
   * replacement is marked: `x-steadfast-fallback: stale` (with `age`) or `handler`, and a
   * `fallback` event. A handler that throws ends the call with `FallbackError`, the original
   * failure as its `cause`. `false` turns it off.
   *
   * @defaultValue off
   */
  readonly fallback?: FallbackOptions | false;
  /**
   * Latency hedging, opt-in: when the first attempt of a call has not answered within the hedge
   * delay, another is sent — to the same origin, or to the next endpoint of `endpoints` — and the
   * first acceptable outcome wins (not transient, not refused by its endpoint's breaker); the
   * others are cancelled (their requests aborted, sockets released, late bodies dumped). An
   * unacceptable outcome sends the next hedge at once. Only for idempotent calls (GET, HEAD,
   * OPTIONS, PUT, DELETE, TRACE, a call with an `Idempotency-Key` or `idempotent: true`) unless
   * `hedgeUnsafeMethods`, and never with a one-shot body. The layer sits inside retry and the
   * deadline and outside re-authorization, admission, hooks and the breaker: every hedged attempt
   * carries its own token, takes its own permits and meets the breaker of its endpoint. `false`
   * turns it off.
   *
   * @defaultValue off
   */
  readonly hedging?: HedgingOptions | false;
}

/** Options of `client.close()`. */
export interface CloseOptions {
  /**
   * Let calls in flight finish for up to this long before they are ended with `ClientClosedError`.
   * New calls are refused at once either way.
   *
   * @defaultValue `0`
   */
  readonly graceMs?: number;
}

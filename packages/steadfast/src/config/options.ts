import type { Dispatcher } from 'undici';
import type { Authorization } from '../auth/types.js';
import type { CallContext, Outcome } from '../pipeline/types.js';
import type { ChaosOptions, ResolvedChaosOptions } from '../strategies/chaos/types.js';
import type { TelemetryOptions } from '../telemetry/index.js';

/** Backoff shapes. `exponential` doubles `baseDelayMs` per retry. */
export type BackoffKind = 'constant' | 'linear' | 'exponential';

/** Retry budget: caps retries as a share of calls in a sliding window. */
export interface RetryBudgetOptions {
  /** Share of calls in the window that may be retried. Default 0.2 (20 %). */
  readonly ratio?: number;
  /** Retries per second always allowed, whatever the traffic. Default 10. */
  readonly minRetriesPerSecond?: number;
  /** Sliding window length. Default 10 000 ms. */
  readonly windowMs?: number;
}

/** Options of the retry strategy. */
export interface RetryOptions {
  /** Re-sends after the first attempt. Default 3. `0` disables retries. */
  readonly maxRetries?: number;
  /** Default `exponential`. */
  readonly backoff?: BackoffKind;
  /** Decorrelated jitter on the backoff delay. Default true. */
  readonly jitter?: boolean;
  /** Default 2 000 ms. */
  readonly baseDelayMs?: number;
  /** Upper bound of a backoff delay. Default 30 000 ms. */
  readonly maxDelayMs?: number;
  /**
   * Longest `Retry-After` the retry strategy waits for. A longer one (or one past the
   * deadline) ends the call at once with the server's response: it never re-sends before
   * the server's `Retry-After`. Default 60 000 ms.
   */
  readonly maxRetryAfterMs?: number;
  /** Retry POST/PATCH on ambiguous failures too. Default false (only with `Idempotency-Key`). */
  readonly retryUnsafeMethods?: boolean;
  /**
   * Decide whether an outcome is worth retrying. Receives the default decision, so it can
   * extend (`byDefault || ...`) or replace the rule. Method and budget rules still apply.
   */
  readonly shouldRetry?: (outcome: Outcome, ctx: CallContext, byDefault: boolean) => boolean;
  /** Retry budget, or `false` for none. Default `{ ratio: 0.2, minRetriesPerSecond: 10, windowMs: 10 000 }`. */
  readonly budget?: RetryBudgetOptions | false;
  /** Source of randomness for jitter, in [0, 1). Default `Math.random`; pass a seeded one for repeatable runs. */
  readonly random?: () => number;
}

/** Options of the per-origin circuit breaker (opossum). */
export interface CircuitBreakerOptions {
  /** Failure ratio (0..1] of transient failures that opens the breaker. Default 0.1. */
  readonly failureRatio?: number;
  /** Attempts in the sampling window before the ratio is considered. Default 100. */
  readonly minimumThroughput?: number;
  /** Sampling window. Must be ≥ 2 × attemptTimeoutMs. Default 30 000 ms. */
  readonly samplingDurationMs?: number;
  /** How long the breaker stays open before a half-open probe. Default 5 000 ms. */
  readonly breakDurationMs?: number;
  /**
   * Most origins with a breaker at once. A closed breaker unused for a sampling window is
   * dropped anyway; past this many, the least recently used one goes. Default 1 000.
   */
  readonly maxOrigins?: number;
}

/** Options of the concurrency limiter. */
export interface ConcurrencyOptions {
  /** Calls in flight at once. Default 1000. */
  readonly limit?: number;
  /** Calls that may wait for a slot. Default 0 (reject at once). */
  readonly queue?: number;
}

/** Options of the undici transport. */
export interface TransportOptions {
  /** Keep-alive connections per origin. Default 128. */
  readonly connectionsPerOrigin?: number;
  /** Idle keep-alive socket lifetime. Default 4 000 ms. */
  readonly keepAliveTimeoutMs?: number;
  /** TCP/TLS connect timeout. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Use this undici Dispatcher instead of creating one (the client will not close it). */
  readonly dispatcher?: Dispatcher;
}

/** Options of `createClient`. Validated once, at construction. */
export interface ClientOptions {
  /** Low-cardinality client name: span names and the `client` metric label. Required. */
  readonly name: string;
  /** Base URL relative paths resolve against, e.g. `http://weather:8080/api/`. */
  readonly baseUrl?: string;
  /** OAuth2 authorization (e.g. `clientCredentials(...)`). Default: none. */
  readonly auth?: Authorization;
  /** Concurrency limiter. Default `{ limit: 1000, queue: 0 }`. */
  readonly concurrency?: ConcurrencyOptions;
  /** Deadline for the whole call, backoff included. Default 30 000 ms. */
  readonly totalTimeoutMs?: number;
  /** Bound on one wire attempt. Must be ≤ totalTimeoutMs. Default 10 000 ms. */
  readonly attemptTimeoutMs?: number;
  /**
   * Largest response body read whole — `text()`, `json()`, `arrayBuffer()`, `bytes()`,
   * `blob()` and the JSON helpers — in bytes; a larger one rejects with
   * `ResponseTooLargeError` and its connection is closed. Streaming reads are not limited.
   * Overridable per call. Default 33 554 432 (32 MiB).
   */
  readonly maxResponseBytes?: number;
  /**
   * While a response body is being read, the longest the server may send nothing; then the
   * read rejects with a `TimeoutError` of kind `body` and the connection is closed.
   * Default 30 000 ms.
   */
  readonly bodyTimeoutMs?: number;
  /**
   * Origins besides `baseUrl`'s that may receive the access token of `auth`. The token is
   * attached only to requests for these origins; a request to any other origin is sent
   * without it (the call span says so). Default: `baseUrl`'s origin only.
   */
  readonly authOrigins?: readonly string[];
  /** Retry strategy, or `false` to disable. */
  readonly retry?: RetryOptions | false;
  /** Per-origin circuit breaker, or `false` to disable. */
  readonly circuitBreaker?: CircuitBreakerOptions | false;
  /** undici transport settings. */
  readonly transport?: TransportOptions;
  /** Metrics and tracing. Default: both on (metrics on the SDK's default registry). */
  readonly telemetry?: TelemetryOptions;
  /** Extra origins this client calls besides `baseUrl` (bounded `server_address` label values). */
  readonly origins?: readonly string[];
  /** Fault injection for rehearsals (see `ChaosOptions`). Default: off (not in the pipeline). */
  readonly chaos?: ChaosOptions | false;
}

/** Options after validation and defaults: everything present, read-only. */
export interface ResolvedOptions {
  readonly name: string;
  readonly baseUrl: URL | undefined;
  readonly auth: Authorization | undefined;
  readonly concurrency: Required<ConcurrencyOptions>;
  readonly totalTimeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly bodyTimeoutMs: number;
  /** Origins the token of `auth` may be sent to: `baseUrl`'s and `authOrigins`. */
  readonly authOrigins: ReadonlySet<string>;
  readonly retry:
    | (Required<Omit<RetryOptions, 'budget' | 'shouldRetry'>> & {
        readonly budget: Required<RetryBudgetOptions> | false;
        readonly shouldRetry: RetryOptions['shouldRetry'];
      })
    | false;
  readonly circuitBreaker: Required<CircuitBreakerOptions> | false;
  readonly transport: Required<Omit<TransportOptions, 'dispatcher'>> & {
    readonly dispatcher: Dispatcher | undefined;
  };
  readonly telemetry: TelemetryOptions | undefined;
  readonly origins: readonly string[];
  readonly chaos: ResolvedChaosOptions | false;
}

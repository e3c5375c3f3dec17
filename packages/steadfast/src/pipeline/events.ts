import type { RateLimiterKind, RateLimitRejection } from '../errors.js';
import type { CallContext, Outcome, RetryStopReason } from './types.js';

/** Circuit breaker states, as they appear in metrics (`state` label). */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** Severity of a resilience event (`severity` label of `steadfast_events_total`). */
export type Severity = 'information' | 'warning' | 'error';

/** A logical call starts (before the limiter). */
export interface CallStartEvent {
  readonly ctx: CallContext;
}

/** A logical call ended. `durationMs` includes backoff sleeps. */
export interface CallEndEvent {
  readonly ctx: CallContext;
  readonly outcome: Outcome;
  readonly durationMs: number;
}

/** One wire attempt is about to be handed to the transport. */
export interface AttemptStartEvent {
  readonly ctx: CallContext;
  /** 0 for the first attempt, n for the n-th re-send. */
  readonly attempt: number;
}

/** One wire attempt finished (response headers received, or failed). */
export interface AttemptEndEvent {
  readonly ctx: CallContext;
  readonly attempt: number;
  readonly outcome: Outcome;
  readonly durationMs: number;
  /** The `error.type` of the attempt: status code string, error code, `timeout`, `_OTHER`; `undefined` on success. */
  readonly errorType: string | undefined;
}

/** The retry strategy decided to re-send after a delay. */
export interface RetryEvent {
  readonly ctx: CallContext;
  /** The attempt number of the re-send that will follow (1 for the first retry). */
  readonly nextAttempt: number;
  /** The trigger's `error.type` ("503", "429", "timeout", "ECONNRESET", ...). */
  readonly reason: string;
  readonly delayMs: number;
  readonly delaySource: 'backoff' | 'retry_after';
}

/** The retry strategy stopped while the outcome was still a failure. */
export interface RetryGiveUpEvent {
  readonly ctx: CallContext;
  readonly reason: RetryStopReason;
  /** The trigger's `error.type`. */
  readonly trigger: string;
}

/** A timeout fired: `attempt` (attempt timeout) or `total` (the call's deadline). */
export interface TimeoutEvent {
  readonly ctx: CallContext;
  readonly kind: 'attempt' | 'total';
  readonly timeoutMs: number;
  /**
   * True when the attempt timed out still waiting for a connection, every connection of
   * the origin's pool being busy (`PoolExhaustedError`): the request was never sent.
   */
  readonly poolExhausted: boolean;
}

/** A breaker changed state. */
export interface BreakerTransitionEvent {
  readonly client: string;
  /** `scheme://host:port` of the breaker. */
  readonly origin: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
}

/** The breaker short-circuited an attempt. */
export interface BreakerRejectedEvent {
  readonly ctx: CallContext;
}

/**
 * The concurrency limiter changed its in-flight count or rejected a call. With the fixed
 * limit the figures are the client's; with an adaptive one (a limit per origin) `inflight`
 * and `limit` are those of the call's origin, and `clientInflight` / `clientLimit` the
 * client's: every origin's calls in flight, and the sum of their limits.
 */
export interface LimiterEvent {
  readonly client: string;
  readonly inflight: number;
  readonly limit: number;
  readonly rejected: boolean;
  readonly ctx: CallContext | undefined;
  /** The client's calls in flight, every origin together. Absent: `inflight`. */
  readonly clientInflight?: number;
  /** The client's limit: the sum of its origins' adaptive limits. Absent: `limit`. */
  readonly clientLimit?: number;
}

/** The re-authorization strategy handled a 401. */
export interface ReauthorizeEvent {
  readonly ctx: CallContext;
  /** Fingerprint of the rejected token (never the token). */
  readonly rejectedFingerprint: string;
  /** True when a newer token was already present (no token-endpoint call needed). */
  readonly newerTokenPresent: boolean;
  /** True when the request is re-sent; false when it is returned as is. */
  readonly resent: boolean;
  /**
   * True when the 401 was a claims challenge (`insufficient_claims`): the new token is
   * requested with the claims it names.
   */
  readonly claimsChallenge?: boolean;
  /**
   * True when the 401 was a DPoP nonce challenge (`use_dpop_nonce`, RFC 9449 §9): the call
   * is re-sent with a proof carrying the server's new nonce, the token kept.
   */
  readonly dpopNonce?: boolean;
  /** Why it was not re-sent, when `resent` is false. */
  readonly skippedBecause?:
    | 'insufficient_scope'
    | 'max_reauthorizations'
    | 'body_not_replayable'
    | 'auth_circuit_open';
}

/**
 * A request went to an origin the client's token does not belong to (not `baseUrl`'s, not
 * in `authOrigins`): it was sent without the token.
 */
export interface TokenWithheldEvent {
  readonly ctx: CallContext;
}

/**
 * A hook of `ClientOptions.hooks` changed something: set headers, replaced an attempt's
 * outcome, or cancelled a retry. A hook that changes nothing emits nothing.
 */
export interface HookEvent {
  readonly ctx: CallContext;
  readonly hook: 'beforeRequest' | 'afterResponse' | 'beforeRetry';
  readonly change: 'headers_set' | 'outcome_replaced' | 'retry_cancelled';
  /** `headers_set`: the names of the headers set, changed or removed (never their values). */
  readonly headers?: readonly string[];
  /** `outcome_replaced`: what replaced the response. */
  readonly replacement?: 'response' | 'retryable_failure';
}

/** A chaos (fault-injection) strategy injected a fault. */
export interface FaultInjectedEvent {
  readonly ctx: CallContext;
  readonly fault: string;
}

/**
 * A wire attempt got its permits from an admission layer — the in-process rate limiter, the
 * fleet quota, or a server-driven cooldown that let it through — or was refused them.
 */
export interface RateLimitEvent {
  readonly ctx: CallContext;
  readonly limiter: RateLimiterKind;
  /** Permits the attempt asked for (its weight; 1 for a cooldown). */
  readonly permits: number;
  /** Granted: how long the attempt waited. Refused: how long it would have had to (may be `Infinity`). */
  readonly waitMs: number;
  /** Why it was refused; `undefined` when granted. */
  readonly rejected: RateLimitRejection | undefined;
}

/** The fleet quota asked its store for a lease of permits. */
export interface QuotaLeaseEvent {
  readonly client: string;
  /** Permits asked for. */
  readonly requested: number;
  /** Permits granted (0 when denied or failed). */
  readonly granted: number;
  /**
   * `ok`: granted ≥ 1; `denied`: the quota had no room yet (asked again later); `error`: the
   * store failed (Redis down or slow) and the instance falls back to its local share.
   */
  readonly result: 'ok' | 'denied' | 'error';
  /** Where the lease came from: the store's `kind` (`redis`, `memory`) or `local_share`. */
  readonly source: string;
  /** Instances the store saw taking leases recently; `undefined` when it did not say. */
  readonly fleetSize: number | undefined;
}

/** The fleet quota switched to its local share (its store failed) or rejoined the fleet. */
export interface QuotaFallbackEvent {
  readonly client: string;
  readonly active: boolean;
  /** Permits per `intervalMs` this instance allows itself while on its local share. */
  readonly localLimit: number;
  /** The fleet size the share was computed from; `undefined` when never learnt. */
  readonly fleetSize: number | undefined;
}

/** What started a cooldown: the response header this instance read, or another instance. */
export type CooldownSource = 'retry_after' | 'ratelimit' | 'x_ratelimit' | 'fleet';

/** A server-driven cooldown started or ended for one scope (an origin, or a partition). */
export interface CooldownEvent {
  readonly client: string;
  /** The paused scope (an origin by default). Not a metric label. */
  readonly scope: string;
  readonly change: 'started' | 'ended';
  readonly source: CooldownSource;
  /** `started`: how long the pause is; `ended`: how long it lasted, probe included (ms). */
  readonly durationMs: number;
}

/**
 * The hedging layer sent another attempt of the call while the earlier ones were still out
 * (`skipped` undefined), or would have and did not.
 */
export interface HedgeEvent {
  /** The call (the hedged attempts run on forks of it: `ctx.hedge` is their index). */
  readonly ctx: CallContext;
  /** Index of the new attempt among the call's hedged attempts: 1 for the first hedge. */
  readonly hedge: number;
  /** The endpoint (`scheme://host:port`) it went, or would have gone, to. */
  readonly origin: string;
  /** `delay`: no answer within the hedge delay; `failure`: an earlier attempt failed. */
  readonly trigger: 'delay' | 'failure';
  /** The hedge delay in force for this call, ms (learnt or fixed). */
  readonly delayMs: number;
  /** Why no attempt was sent: the hedging budget was spent. */
  readonly skipped: 'budget_exhausted' | undefined;
}

/** A hedged call's attempts ended: which one's outcome the call took. */
export interface HedgeEndEvent {
  readonly ctx: CallContext;
  /** Attempts sent, the first included. */
  readonly sent: number;
  /** Index of the attempt whose outcome the call took; `undefined` when none was acceptable. */
  readonly winner: number | undefined;
  /** The winner's endpoint; `undefined` when none was acceptable. */
  readonly origin: string | undefined;
  /** Attempts still out when the winner answered, cancelled (sockets released, bodies dumped). */
  readonly cancelled: number;
}

/** The fallback layer replaced a call's outcome, or found nothing to replace it with. */
export interface FallbackEvent {
  readonly ctx: CallContext;
  /** `stale`: the last good response for the call's cache key; `handler`: the `fallback` function's. */
  readonly kind: 'stale' | 'handler';
  /** What was replaced: `circuit_open`, `timeout`, `rate_limited`, `concurrency_limited`, a status (`503`), an error code. */
  readonly trigger: string;
  /** False when nothing could be served (no fresh-enough stale entry): the outcome stands. */
  readonly served: boolean;
  /** `stale` and served: the age of the response served, ms. */
  readonly ageMs: number | undefined;
}

/** An adaptive concurrency limit moved (it is per origin). */
export interface ConcurrencyLimitEvent {
  readonly client: string;
  /** `scheme://host:port` the limit is for. */
  readonly origin: string;
  readonly algorithm: 'aimd' | 'gradient';
  readonly limit: number;
  readonly previous: number;
}

/** Client-side adaptive throttling (SRE book) refused an attempt locally. */
export interface ThrottleEvent {
  readonly ctx: CallContext;
  /** The rejection probability in force: max(0, (requests − K·accepts) / (requests + 1)). */
  readonly probability: number;
}

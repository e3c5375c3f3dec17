import type { RequestBody } from '../http/body.js';
import type { IncomingBody } from '../http/incoming-body.js';
import type { AttemptSignal } from './attempt-signal.js';

/** Headers as sent on the wire: lower-case names, one string value each. */
export type WireHeaders = Record<string, string>;

/** What the transport got back for one wire attempt, before it becomes a `Response`. */
export interface WireResponse {
  readonly status: number;
  /** The reason phrase of the status line, when the server sent one. */
  readonly statusText?: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The body as it arrives. Strategies that discard a response must call `discard()`. */
  readonly body: IncomingBody;
}

/**
 * The result of running a call (or one attempt) through a strategy.
 * Strategies return outcomes instead of throwing, so every strategy can look at a
 * failure without try/catch and a failure can be passed up unchanged.
 */
export type Outcome =
  | { readonly kind: 'response'; readonly response: WireResponse }
  | { readonly kind: 'error'; readonly error: Error };

/** Why the retry strategy stopped before `maxRetries` was reached. */
export type RetryStopReason =
  | 'not_transient'
  | 'max_retries'
  | 'deadline'
  /** The server's `Retry-After` asked for a longer wait than `retry.maxRetryAfterMs`. */
  | 'retry_after_too_long'
  | 'budget_exhausted'
  | 'method_not_idempotent'
  | 'body_not_replayable'
  | 'aborted';

/**
 * Per-call state every strategy sees. One object per logical call; strategies read it
 * and update the few mutable fields documented below. Never holds secrets in fields that
 * telemetry reads (the `authorization` header is set per attempt by re-authorization).
 */
export interface CallContext {
  /** The client's name (`ClientOptions.name`), a metric label. */
  readonly client: string;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The absolute request URL. Never log `url.search`: it may hold secrets. */
  readonly url: URL;
  /** `scheme://host:port` — the breaker key and the transport pool key. */
  readonly origin: string;
  /** Low-cardinality operation name for span names (defaults to the method). */
  readonly operation: string;
  /** Path + query as sent on the wire. */
  readonly path: string;
  /** Request headers for the next attempt (lower-case names). Strategies may set fields. */
  readonly headers: WireHeaders;
  /** The request body, normalised once per call. */
  readonly body: RequestBody;
  /** Largest response body the call's whole-body reads may buffer (`maxResponseBytes`). */
  readonly maxResponseBytes: number;
  /** The caller's signal, if any. A caller abort is not an error in telemetry. */
  readonly signal: AbortSignal | undefined;
  /**
   * The signal of the current wire attempt (caller abort or attempt timeout), set by the
   * attempt-timeout strategy for the transport; `undefined` between attempts.
   */
  attemptSignal: AttemptSignal | undefined;
  /**
   * True when re-sending is safe on an ambiguous failure: an idempotent method (GET, HEAD,
   * OPTIONS, PUT, DELETE, TRACE), an `Idempotency-Key` header, or the caller's opt-in.
   */
  readonly idempotent: boolean;
  /** `performance.now()` when the call started. */
  readonly startedAt: number;
  /** Absolute deadline on the `performance.now()` clock; `Infinity` when there is none. */
  deadline: number;
  /** 0 for the first wire attempt, n for the n-th re-send (transient retry or 401). */
  attempt: number;
  /** Number of wire attempts that reached the transport so far. */
  attempts: number;
  /** Set by the retry strategy when it stopped early; telemetry reports it. */
  retryStopReason: RetryStopReason | undefined;
  /** Free slots for adapters (e.g. the tracing adapter keeps its span here). */
  readonly slots: Map<symbol, unknown>;
}

/** Continue the pipeline with the next (inner) strategy. */
export type Next = (ctx: CallContext) => Promise<Outcome>;

/**
 * The one contract every strategy implements. A strategy receives the call context and
 * `next`, and returns an outcome. Strategies compose; they never know each other.
 */
export interface Strategy {
  /** Stable name used in events and metrics (`strategy` label). */
  readonly name: string;
  execute(ctx: CallContext, next: Next): Promise<Outcome>;
  /** Release timers and resources. Called by `client.close()`. */
  dispose?(): void | Promise<void>;
}

/** Milliseconds left before the deadline (may be negative). */
export function timeLeft(ctx: CallContext): number {
  return ctx.deadline - performance.now();
}

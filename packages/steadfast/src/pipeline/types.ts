import type { Readable } from 'node:stream';
import type { AttemptSignal } from './attempt-signal.js';

// The contract of the pipeline: what strategies, the transport and the client exchange.
// This folder imports nothing of the SDK but errors.ts; http/, strategies/, auth/ and
// telemetry/ implement or use what is declared here.

/** A request body as sent on the wire for one attempt (what undici's `request` accepts). */
export type WireBody = string | Uint8Array | Readable | null;

/**
 * A request body, normalised once per call (http/body.ts makes them).
 * - `replayable`: false only for one-shot streams, which can be sent exactly once.
 * - `contentType`: the type implied by the body (URLSearchParams, Blob), if any.
 */
export interface RequestBody {
  readonly replayable: boolean;
  readonly contentType: string | undefined;
  /** The body for the next attempt. For one-shot bodies, a second call returns `undefined`. */
  forAttempt(): WireBody | undefined;
}

/**
 * A response body as it arrives (http/incoming-body.ts is the one the transport makes).
 * Read it whole, stream it, or `dump()` it: an unread body holds its connection.
 */
export interface ResponseBody extends AsyncIterable<Buffer> {
  /** The response's `content-type` (the type of `blob()`). */
  readonly contentType: string;
  readonly bodyUsed: boolean;
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array<ArrayBuffer>>;
  blob(): Promise<Blob>;
  /** A web stream of the body. */
  stream(): ReadableStream<Uint8Array<ArrayBuffer>>;
  /** Throw the body away, keeping the connection when little is left. */
  dump(): Promise<void>;
  /** End the body with `error` (readers see it) and release the connection. */
  destroy(error: Error): void;
  /** `callback` runs once when the body is fully read, dumped or destroyed. */
  onFinished(callback: () => void): void;
}

/** Headers as sent on the wire: lower-case names, one string value each. */
export type WireHeaders = Record<string, string>;

/** What the transport got back for one wire attempt, before it becomes a `Response`. */
export interface WireResponse {
  readonly status: number;
  /** The reason phrase of the status line, when the server sent one. */
  readonly statusText?: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The body as it arrives. Strategies that discard a response must call `discard()`. */
  readonly body: ResponseBody;
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
  | 'aborted'
  /** A `beforeRetry` hook returned `false`. */
  | 'hook_cancelled';

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
  /**
   * True when the call's URL says more than `origin` + `path` do (userinfo), so whoever
   * describes the call must read `url`; false lets telemetry skip building a `URL`.
   * Absent means true.
   */
  readonly urlHasUserinfo?: boolean;
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
  /**
   * What this call changes of the client's settings (its own `timeoutMs`,
   * `attemptTimeoutMs`, `retry`), validated before the call started; `undefined` for a call
   * that changes none, so a layer reads one field and goes on.
   */
  readonly overrides: CallOverrides | undefined;
  /**
   * The call's `context` option: the caller's own values, for hooks, event listeners and the
   * chaos strategy to read. An empty frozen object when the call gave none.
   */
  readonly context: Readonly<Record<string, unknown>>;
  /** Free slots for adapters (e.g. the tracing adapter keeps its span here). */
  readonly slots: Map<symbol, unknown>;
  /**
   * Set on the hedged attempts of a call (pipeline/forked-call.ts): 0 for the first attempt of
   * a hedged group, n for the n-th hedge. Absent on a call that is not hedged.
   */
  readonly hedge?: number | undefined;
  /**
   * Which token of the client's credential the call needs, when not the credential's own
   * (a call's or a derived client's `token` option): the re-authorization layer picks the
   * token by it. Absent for the credential's own scope, resource and audience.
   */
  readonly token?: TokenSelector | undefined;
}

/**
 * A token of one credential other than its configured one: another scope set, resource
 * indicator (RFC 8707) or audience. A field left out keeps the credential's own value.
 * Checked and normalised (scopes deduplicated and sorted) before the call starts.
 */
export interface TokenSelector {
  readonly scopes?: readonly string[] | undefined;
  readonly resource?: string | undefined;
  readonly audience?: string | undefined;
}

/** The settings one call changes for itself (see `CallContext.overrides`). */
export interface CallOverrides {
  /** This call's total timeout, ms; the deadline is the sooner of it and the client's. */
  readonly timeoutMs: number | undefined;
  /** This call's bound on one wire attempt, ms, instead of the client's. */
  readonly attemptTimeoutMs: number | undefined;
  /**
   * `false`: this call is never retried (re-authorization on a 401 still re-sends once). An
   * object: this call's retry settings, the client's with the call's merged over them
   * (config/request-schema.ts); the contract carries them unopened, for the retry strategy.
   */
  readonly retry: false | object | undefined;
  /** A derived client's (`client.extend`) `totalTimeoutMs`, in place of the pipeline's. */
  readonly clientTotalTimeoutMs?: number | undefined;
  /** A derived client's `attemptTimeoutMs`, in place of the pipeline's (a call's own wins). */
  readonly clientAttemptTimeoutMs?: number | undefined;
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

/** The terminal of the pipeline: sends one wire attempt (http/transport.ts is undici's). */
export interface Transport {
  execute(ctx: CallContext): Promise<Outcome>;
  /** Wire attempts, and response bodies still being read, in flight now. */
  readonly inflight: number;
  /** End what is in flight with `reasonFor(ctx)` and destroy the sockets. */
  close(reasonFor: (ctx: CallContext) => Error): Promise<void>;
}

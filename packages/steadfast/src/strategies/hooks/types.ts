import type { CallContext } from '../../pipeline/types.js';

/** A value, or a promise of it: every hook may be synchronous or async. */
export type MaybePromise<T> = T | PromiseLike<T>;

/** What a hook that has nothing to say returns: `undefined`, or no `return` at all. */
// biome-ignore lint/suspicious/noConfusingVoidType: a function without `return` returns void
export type Nothing = undefined | void;

/**
 * Runs before every wire attempt (re-sends included), after the access token was attached:
 * `ctx.headers` (lower-case names) already holds `authorization`. Set or delete headers
 * there — a request id, a signature; names set in another case are lower-cased.
 *
 * @example
 * beforeRequest: (ctx) => { ctx.headers['x-request-id'] = randomUUID(); }
 */
export type BeforeRequestHook = (ctx: CallContext) => MaybePromise<void>;

/**
 * The response an `afterResponse` hook sees. Reading the body here does not take it from
 * the caller: what a hook read is kept (up to the call's `maxResponseBytes`) and read again
 * by the caller; a body no hook reads is passed on untouched, still streaming.
 */
export interface HookResponse {
  readonly status: number;
  readonly statusText: string | undefined;
  /** Lower-case names; a header sent several times is an array. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  text(): Promise<string>;
  json(): Promise<unknown>;
  bytes(): Promise<Uint8Array>;
}

declare const retryableFailureBrand: unique symbol;

/** What `retryableFailure()` returns: tells the pipeline to treat the response as a transient failure. */
export interface RetryableFailure {
  readonly [retryableFailureBrand]: true;
}

/**
 * What an `afterResponse` hook returns: nothing to keep the response; a `Response` to
 * replace it (its status, headers and body); `retryableFailure()` to fail the attempt
 * (`ResponseRejectedError`), which the retry strategy retries like a 503.
 */
export type AfterResponseResult = Response | RetryableFailure | Nothing;

/**
 * Runs after every wire attempt that got a response (401 and 5xx included), before the
 * re-authorization and retry strategies look at it, so they see what it returns.
 *
 * @example
 * afterResponse: async (ctx, response) => {
 *   if (response.status === 200 && (await response.json() as { error?: string }).error === 'busy')
 *     return retryableFailure();
 * }
 */
export type AfterResponseHook = (
  ctx: CallContext,
  response: HookResponse,
) => MaybePromise<AfterResponseResult>;

/** What a `beforeRetry` hook is told about the re-send the retry strategy is about to make. */
export interface BeforeRetryInfo {
  /** The re-send that follows (1 for the first retry; `ctx.attempt` + 1). */
  readonly attempt: number;
  /** How long the strategy will wait before it, ms. */
  readonly delayMs: number;
  readonly delaySource: 'backoff' | 'retry_after';
  /** Why: the failed attempt's `error.type` (`"503"`, `"429"`, `timeout`, `ECONNRESET`, ...). */
  readonly reason: string;
  /** The failed attempt's status, when it got a response. */
  readonly status: number | undefined;
  /** The failed attempt's error, when it got none. */
  readonly error: Error | undefined;
}

/**
 * Runs when the retry strategy has decided to re-send (every rule passed, the budget
 * granted it), before it waits. Return `false` to cancel: the call ends with the last
 * outcome and the stop reason `hook_cancelled`.
 */
export type BeforeRetryHook = (
  ctx: CallContext,
  info: BeforeRetryInfo,
) => MaybePromise<boolean | Nothing>;

/**
 * Runs when a call is about to reject, with the error it rejects with (a `SteadfastError`,
 * unless an earlier `beforeError` hook replaced it); return another error to reject with
 * that one instead (e.g. your own error type), or nothing to keep it.
 */
export type BeforeErrorHook = (error: Error) => MaybePromise<Error | Nothing>;

/** The hooks of a client after validation: each list non-empty, or `undefined`. */
export interface ResolvedHooks {
  readonly beforeRequest: readonly BeforeRequestHook[] | undefined;
  readonly afterResponse: readonly AfterResponseHook[] | undefined;
  readonly beforeRetry: readonly BeforeRetryHook[] | undefined;
  readonly beforeError: readonly BeforeErrorHook[] | undefined;
}

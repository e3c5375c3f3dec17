import type { FallbackTrigger } from '../../config/fallback-schema.js';
import {
  AbortError,
  CircuitOpenError,
  ClientClosedError,
  ConcurrencyLimitedError,
  HttpStatusError,
  NetworkError,
  NonReplayableBodyError,
  RateLimitedError,
  ResponseRejectedError,
  RetryBudgetExhaustedError,
  SteadfastError,
  TimeoutError,
} from '../../errors.js';
import { errorCode, errorTypeOf } from '../../http/classify.js';
import { toHeaders } from '../../http/response.js';
import type { CallContext, Outcome } from '../../pipeline/types.js';

/**
 * Which failure of `fallback.on` an outcome is, or `undefined` for one no fallback answers:
 * a success, a 4xx but 429, a hook's error, an abort, a closed client.
 */
export function triggerOf(outcome: Outcome): FallbackTrigger | undefined {
  if (outcome.kind === 'response') return statusTrigger(outcome.response.status);
  const error = failureOf(outcome.error);
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof CircuitOpenError) return 'circuit_open';
  if (error instanceof ConcurrencyLimitedError) return 'concurrency_limited';
  // `closed`: the client closed while the attempt waited for its permit.
  if (error instanceof RateLimitedError)
    return error.reason === 'closed' ? undefined : 'rate_limited';
  if (error instanceof NetworkError) return 'network';
  if (error instanceof ResponseRejectedError) return statusTrigger(error.status);
  if (error instanceof AbortError || error instanceof ClientClosedError) return undefined;
  // A network error the transport did not type (the client would wrap it in a NetworkError).
  if (!(error instanceof SteadfastError) && errorCode(error) !== undefined) return 'network';
  return undefined;
}

/** 5xx but 501 (the server will never do it), and 429. */
function statusTrigger(status: number): FallbackTrigger | undefined {
  if (status === 429) return 'rate_limited';
  return status >= 500 && status <= 599 && status !== 501 ? 'server_error' : undefined;
}

/**
 * The failure behind the retry layer's wrappers: a spent budget or a one-shot body ends the
 * call with the last failure as `cause`, and that is what the call failed of.
 */
function failureOf(error: Error): Error {
  if (
    (error instanceof RetryBudgetExhaustedError || error instanceof NonReplayableBodyError) &&
    error.cause instanceof Error
  )
    return error.cause;
  return error;
}

/** The `trigger` of a `fallback` event: the failure's `error.type` (`503`, `ECONNRESET`, ...). */
export function eventTrigger(outcome: Outcome, trigger: FallbackTrigger): string {
  if (outcome.kind === 'error')
    return errorTypeOf({ kind: 'error', error: failureOf(outcome.error) }) ?? trigger;
  return errorTypeOf(outcome) ?? trigger;
}

/**
 * The original failure as an error, for `FallbackError.cause`: the call's error, or for a
 * failed response an `HttpStatusError` with its status and headers.
 */
export function failureError(ctx: CallContext, outcome: Outcome): Error {
  if (outcome.kind === 'error') return outcome.error;
  const { status, headers } = outcome.response;
  return new HttpStatusError(ctx.method, ctx.url, status, toHeaders(headers));
}

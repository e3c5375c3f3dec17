import {
  AbortError,
  CircuitOpenError,
  ConcurrencyLimitedError,
  HedgeCancelledError,
  HookError,
  PoolExhaustedError,
  RateLimitedError,
  ResponseRejectedError,
  TimeoutError,
} from '../errors.js';
import type { Outcome } from '../pipeline/types.js';

/** Status codes that are transient by default (retried, counted by the breaker). 501 is not. */
export const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Network error codes that are transient by default. */
export const TRANSIENT_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Error codes meaning the request never reached the server: safe to retry any method. */
export const NOT_SENT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The closed list of `error.type` values for errors; anything else becomes `_OTHER`. */
const KNOWN_ERROR_CODES = new Set([
  ...TRANSIENT_ERROR_CODES,
  'UND_ERR_ABORTED',
  'UND_ERR_INVALID_ARG',
]);

/** The error code of an error or its cause chain (undici wraps socket errors). */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('ERR_STEADFAST')) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The `error.type` of an outcome, per the telemetry contract: the status code as a string
 * for 4xx/5xx, a known error code, `timeout`, `pool_exhausted`, `circuit_open`,
 * `concurrency_limited`, `cancelled` (a hedged attempt another attempt answered before), or
 * `_OTHER`. `undefined` for 1xx-3xx responses and caller aborts.
 */
export function errorTypeOf(outcome: Outcome): string | undefined {
  if (outcome.kind === 'response') {
    const status = outcome.response.status;
    return status >= 400 ? String(status) : undefined;
  }
  const error = outcome.error;
  if (error instanceof PoolExhaustedError) return 'pool_exhausted';
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof CircuitOpenError) return 'circuit_open';
  if (error instanceof ConcurrencyLimitedError) return 'concurrency_limited';
  if (error instanceof RateLimitedError) return 'rate_limited';
  // A hedged attempt another attempt of its call answered before: `cancelled`, no failure.
  if (error instanceof AbortError) {
    return error.cause instanceof HedgeCancelledError ? 'cancelled' : undefined;
  }
  // Before the cause chain: what a hook threw may carry any code.
  if (error instanceof HookError) return 'hook_error';
  if (error instanceof ResponseRejectedError) return 'response_rejected';
  const code = errorCode(error);
  if (code && KNOWN_ERROR_CODES.has(code)) return code;
  return '_OTHER';
}

/** True when the outcome is transient under the default rule. */
export function isTransient(outcome: Outcome): boolean {
  if (outcome.kind === 'response') return TRANSIENT_STATUS.has(outcome.response.status);
  const error = outcome.error;
  // Waiting for a busy pool is not the downstream failing, and a re-send would queue again.
  if (error instanceof PoolExhaustedError) return false;
  if (error instanceof TimeoutError) return error.kind === 'attempt';
  if (error instanceof CircuitOpenError || error instanceof AbortError) return false;
  if (error instanceof ConcurrencyLimitedError || error instanceof RateLimitedError) return false;
  // A hook that threw ends the call (whatever code its cause carries); a response an
  // afterResponse hook rejected is retried like a 503.
  if (error instanceof HookError) return false;
  if (error instanceof ResponseRejectedError) return true;
  const code = errorCode(error);
  return code !== undefined && TRANSIENT_ERROR_CODES.has(code);
}

/** True when the failure proves the request never reached the server. */
export function neverReachedServer(outcome: Outcome): boolean {
  if (outcome.kind === 'response') return false;
  const code = errorCode(outcome.error);
  return code !== undefined && NOT_SENT_ERROR_CODES.has(code);
}

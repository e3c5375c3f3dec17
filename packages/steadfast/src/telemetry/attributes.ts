import {
  AbortError,
  CircuitOpenError,
  ConcurrencyLimitedError,
  FallbackError,
  NonReplayableBodyError,
  RateLimitedError,
  RetryBudgetExhaustedError,
  TimeoutError,
  TokenUnavailableError,
} from '../errors.js';
import { errorTypeOf, TRANSIENT_ERROR_CODES } from '../http/classify.js';
import type { CallContext, Outcome } from '../pipeline/types.js';

/** The value every bounded attribute or label falls back to (semconv `_OTHER`). */
export const OTHER = '_OTHER';

/** Methods semconv knows; anything else is reported as `_OTHER` plus `http.request.method_original`. */
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

/** `http.request.method` per semconv: a known upper-case method, or `_OTHER`. */
export function normalizeMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : OTHER;
}

/** Host and port of a URL as semconv wants them (`server.address` without IPv6 brackets, numeric port). */
export function serverOf(url: URL): { address: string; port: number } {
  const host = url.hostname;
  const address = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { address, port };
}

const REDACTED = 'REDACTED';

/**
 * `url.full` without secrets: userinfo becomes `REDACTED:REDACTED` (semconv), every query
 * value becomes `REDACTED` and a query part without `=` (`?SECRET`, `?a&SECRET`) becomes
 * `REDACTED` as a whole — such a part is usually a bare token or signature, not a key. Keys
 * of `key=value` parts stay verbatim, as sent, so the shape of the request is visible. The
 * fragment is dropped. Percent-encoding changes nothing: `=` and `&` are split on as sent,
 * and an encoded `%3D` is not a separator, so `?a%3Db` is a bare part.
 */
export function redactUrl(url: URL): string {
  const userinfo = url.username || url.password ? `${REDACTED}:${REDACTED}@` : '';
  return `${url.protocol}//${userinfo}${url.host}${url.pathname}${redactQuery(url.search.slice(1))}`;
}

/**
 * `url.full` of a call from its origin (`scheme://host[:port]`, never userinfo) and its
 * path as sent (`/path?query`, already in WHATWG form): what {@link redactUrl} gives for the
 * same URL, without parsing one.
 */
export function redactOriginAndPath(origin: string, path: string): string {
  const q = path.indexOf('?');
  if (q === -1) return origin + path;
  return `${origin}${path.slice(0, q)}${redactQuery(path.slice(q + 1))}`;
}

/** `?` + the redacted query (see {@link redactUrl}), or `''` for an empty one. */
function redactQuery(query: string): string {
  if (query.length === 0) return '';
  const parts = query.split('&');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '') continue; // `a&&b`: nothing to hide
    const eq = part.indexOf('=');
    parts[i] = eq === -1 ? REDACTED : `${part.slice(0, eq)}=${REDACTED}`;
  }
  return `?${parts.join('&')}`;
}

/**
 * `error.type` of a hedged attempt cancelled because another attempt of its call answered
 * first (an `AbortError` whose cause is `HedgeCancelledError`): not a failure, not a caller
 * abort.
 */
export const CANCELLED = 'cancelled';

/** `error.type` values of the logical call that are not attempt outcomes. */
export const CALL_ERROR_TYPES = [
  'timeout',
  'pool_exhausted',
  'circuit_open',
  'concurrency_limited',
  'rate_limited',
  'retry_budget_exhausted',
  'token_unavailable',
  'body_not_replayable',
  'hook_error',
  'response_rejected',
  'fallback_error',
] as const;

/** OAuth2 error codes (RFC 6749 §5.2) a token fetch may report. */
const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
  'malformed_response',
  // the SDK's own token-endpoint failures (src/auth/token-endpoint.ts, discovery.ts)
  'response_too_large',
  'discovery_failed',
  'unsupported_token_type',
];

/** Registered 4xx and 5xx status codes (IANA): the status strings `error_type` may hold. */
const ERROR_STATUS_CODES = [
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418,
  421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508,
  510, 511,
].map(String);

/**
 * The closed `error_type` vocabulary of the metrics. Anything outside it is reported as
 * `_OTHER`, so a misbehaving server or an unexpected error code cannot add series.
 */
export const ERROR_TYPES: ReadonlySet<string> = new Set([
  ...ERROR_STATUS_CODES,
  ...TRANSIENT_ERROR_CODES,
  'UND_ERR_ABORTED',
  'UND_ERR_INVALID_ARG',
  CANCELLED,
  ...CALL_ERROR_TYPES,
  ...OAUTH_ERROR_CODES,
  OTHER,
]);

/** Map an `error.type` onto the closed vocabulary. `undefined` stays `undefined` (no error). */
export function boundErrorType(errorType: string | undefined): string | undefined {
  if (errorType === undefined) return undefined;
  return ERROR_TYPES.has(errorType) ? errorType : OTHER;
}

/** Registered status codes (IANA) a `http_response_status_code` label may hold. */
const STATUS_CODES: ReadonlySet<string> = new Set([
  ...[100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226].map(String),
  ...[300, 301, 302, 303, 304, 305, 307, 308].map(String),
  ...ERROR_STATUS_CODES,
]);

/** `http_response_status_code` label: a registered status code, else `_OTHER`. */
export function boundStatusCode(status: number): string {
  const code = String(status);
  return STATUS_CODES.has(code) ? code : OTHER;
}

/** How a logical call ended, for the `outcome` and `kind` labels and the call span. */
export type CallResult = 'success' | 'failure' | 'rejected' | 'aborted';

/**
 * Classify a finished call. `success` = a response below 400. `rejected` = the limiter, or
 * the breaker before any attempt reached the wire. `aborted` = the caller's signal (not an
 * error in telemetry). Everything else is a `failure`.
 */
export function callResultOf(ctx: CallContext, outcome: Outcome): CallResult {
  if (outcome.kind === 'response') return outcome.response.status < 400 ? 'success' : 'failure';
  const error = outcome.error;
  if (error instanceof AbortError) return 'aborted';
  if (error instanceof ConcurrencyLimitedError) return 'rejected';
  if (error instanceof CircuitOpenError && ctx.attempts === 0) return 'rejected';
  if (error instanceof RateLimitedError && ctx.attempts === 0) return 'rejected';
  // The caller aborted and the failure is the consequence (not one of the SDK's timeouts).
  if (ctx.signal?.aborted && !(error instanceof TimeoutError)) return 'aborted';
  return 'failure';
}

/**
 * The final `error.type` of a logical call: the attempt vocabulary (`errorTypeOf`) plus the
 * call-level reasons (`retry_budget_exhausted`, `token_unavailable`, `body_not_replayable`).
 * `undefined` for a success or a caller abort.
 */
export function callErrorTypeOf(ctx: CallContext, outcome: Outcome): string | undefined {
  if (outcome.kind === 'error') {
    const error = outcome.error;
    if (error instanceof RetryBudgetExhaustedError) return 'retry_budget_exhausted';
    if (error instanceof TokenUnavailableError) return 'token_unavailable';
    if (error instanceof NonReplayableBodyError) return 'body_not_replayable';
    // The fallback's handler threw (or answered what cannot be sent): the call's own failure.
    if (error instanceof FallbackError) return 'fallback_error';
    if (ctx.signal?.aborted && !(error instanceof TimeoutError)) return undefined;
  }
  return errorTypeOf(outcome);
}

/**
 * Every error Steadfast throws is a `SteadfastError` with a stable `code`.
 * Messages carry the method and the URL without its query string or userinfo, and
 * never a token, a secret or an `Authorization` header.
 */
export class SteadfastError extends Error {
  /** A stable, documented code (`ERR_STEADFAST_*`); match on it, not on the message. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** `origin + pathname` of a URL: what error messages and logs may show. */
export function safeUrl(url: URL | string): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '<invalid url>';
  }
}

function where(method: string, url: URL | string): string {
  return `${method} ${safeUrl(url)}`;
}

/** Options failed validation at construction. `field` names the offending option. */
export class InvalidConfigurationError extends SteadfastError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('ERR_STEADFAST_INVALID_CONFIGURATION', `Invalid option \`${field}\`: ${message}`);
    this.field = field;
  }
}

/** The per-origin circuit breaker is open: the attempt was not sent. */
export class CircuitOpenError extends SteadfastError {
  readonly origin: string;
  constructor(method: string, url: URL | string, origin: string) {
    super(
      'ERR_STEADFAST_CIRCUIT_OPEN',
      `${where(method, url)}: circuit breaker for ${origin} is open; the attempt was not sent`,
    );
    this.origin = origin;
  }
}

/** The client's concurrency limit (and queue) is full: the call was not started. */
export class ConcurrencyLimitedError extends SteadfastError {
  readonly limit: number;
  constructor(method: string, url: URL | string, limit: number) {
    super(
      'ERR_STEADFAST_CONCURRENCY_LIMITED',
      `${where(method, url)}: rejected, ${limit} calls already in flight (concurrency limit)`,
    );
    this.limit = limit;
  }
}

/** An attempt timeout or the call's total timeout (deadline) elapsed. */
export class TimeoutError extends SteadfastError {
  readonly kind: 'attempt' | 'total';
  readonly timeoutMs: number;
  constructor(method: string, url: URL | string, kind: 'attempt' | 'total', timeoutMs: number) {
    super(
      'ERR_STEADFAST_TIMEOUT',
      `${where(method, url)}: ${kind === 'attempt' ? 'attempt timeout' : 'total timeout (deadline)'} of ${Math.round(timeoutMs)} ms elapsed`,
    );
    this.kind = kind;
    this.timeoutMs = timeoutMs;
  }
}

/** The retry budget was spent: the failure is returned without another attempt. */
export class RetryBudgetExhaustedError extends SteadfastError {
  constructor(method: string, url: URL | string, options?: { cause?: unknown }) {
    super(
      'ERR_STEADFAST_RETRY_BUDGET_EXHAUSTED',
      `${where(method, url)}: failed and the retry budget is spent, not retrying${causeSuffix(options?.cause)}`,
      options,
    );
  }
}

/** A request body that cannot be replayed (a one-shot stream) would have to be re-sent. */
export class NonReplayableBodyError extends SteadfastError {
  constructor(method: string, url: URL | string, options?: { cause?: unknown }) {
    super(
      'ERR_STEADFAST_NON_REPLAYABLE_BODY',
      `${where(method, url)}: failed and the request body is a one-shot stream that cannot be re-sent; pass a string, Buffer, Blob, FormData or a body factory to allow retries${causeSuffix(options?.cause)}`,
      options,
    );
  }
}

/** No access token could be obtained (token endpoint failing, backoff active, auth circuit open). */
export class TokenUnavailableError extends SteadfastError {
  /** An OAuth2 error code (`invalid_client`, ...) or a Steadfast reason. */
  readonly reason: string;
  constructor(credential: string, reason: string, detail: string, options?: { cause?: unknown }) {
    super(
      'ERR_STEADFAST_TOKEN_UNAVAILABLE',
      `No access token for credential ${credential}: ${reason}${detail ? ` (${detail})` : ''}`,
      options,
    );
    this.reason = reason;
  }
}

/** A JSON helper got a non-2xx status. The body is consumed; status and headers are kept. */
export class HttpStatusError extends SteadfastError {
  readonly status: number;
  readonly headers: Headers;
  constructor(method: string, url: URL | string, status: number, headers: Headers) {
    super('ERR_STEADFAST_HTTP_STATUS', `${where(method, url)}: responded ${status}`);
    this.status = status;
    this.headers = headers;
  }
}

/** The client was closed: new calls are refused and calls waiting to retry end. */
export class ClientClosedError extends SteadfastError {
  constructor(client: string, method?: string, url?: URL | string) {
    super(
      'ERR_STEADFAST_CLIENT_CLOSED',
      `${method && url ? `${where(method, url)}: ` : ''}client ${client} is closed`,
    );
  }
}

/** The caller's `AbortSignal` aborted the call. */
export class AbortError extends SteadfastError {
  constructor(method: string, url: URL | string, options?: { cause?: unknown }) {
    super('ERR_STEADFAST_ABORTED', `${where(method, url)}: aborted by the caller`, options);
  }
}

function causeSuffix(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return `; last failure: ${typeof code === 'string' ? code : cause.name}`;
  }
  return '';
}

/** True for any error Steadfast throws. */
export const isSteadfastError = (e: unknown): e is SteadfastError => e instanceof SteadfastError;
export const isCircuitOpenError = (e: unknown): e is CircuitOpenError =>
  e instanceof CircuitOpenError;
export const isConcurrencyLimitedError = (e: unknown): e is ConcurrencyLimitedError =>
  e instanceof ConcurrencyLimitedError;
export const isTimeoutError = (e: unknown): e is TimeoutError => e instanceof TimeoutError;
export const isRetryBudgetExhaustedError = (e: unknown): e is RetryBudgetExhaustedError =>
  e instanceof RetryBudgetExhaustedError;
export const isNonReplayableBodyError = (e: unknown): e is NonReplayableBodyError =>
  e instanceof NonReplayableBodyError;
export const isTokenUnavailableError = (e: unknown): e is TokenUnavailableError =>
  e instanceof TokenUnavailableError;
export const isInvalidConfigurationError = (e: unknown): e is InvalidConfigurationError =>
  e instanceof InvalidConfigurationError;
export const isHttpStatusError = (e: unknown): e is HttpStatusError => e instanceof HttpStatusError;
export const isAbortError = (e: unknown): e is AbortError => e instanceof AbortError;
export const isClientClosedError = (e: unknown): e is ClientClosedError =>
  e instanceof ClientClosedError;

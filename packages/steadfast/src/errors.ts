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

/**
 * `origin + pathname` of a URL: what error messages and logs may show. Userinfo is dropped
 * and a query string shows as `?…`. A string that is not a URL is shown the same way, as
 * far as it can be read: userinfo cut, everything from `?` or `#` on replaced by `?…`.
 */
export function safeUrl(url: URL | string): string {
  if (typeof url !== 'string') return fromUrl(url);
  if (URL.canParse(url)) return fromUrl(new URL(url));
  return safeUrlText(url);
}

function fromUrl(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
}

/** An unparseable URL string, without what may be a secret (userinfo, query, fragment). */
function safeUrlText(text: string): string {
  const cut = text.search(/[?#]/);
  let shown = cut === -1 ? text : text.slice(0, cut);
  // `scheme://user:pass@host` or `//user:pass@host`: drop everything up to the last "@"
  // before the path, whatever the userinfo contains.
  shown = shown.replace(
    /^([a-z][a-z0-9+.-]*:)?\/\/[^/]*@/i,
    (_m, scheme: string | undefined) => `${scheme ?? ''}//`,
  );
  shown = shown.replace(/[^\x20-\x7e]/g, '?');
  if (shown.length > 200) shown = `${shown.slice(0, 200)}…`;
  return `${shown}${cut === -1 ? '' : '?…'}`;
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

/** Which admission layer refused a wire attempt a permit. */
export type RateLimiterKind = 'rate_limiter' | 'fleet_quota' | 'cooldown' | 'adaptive_throttle';

/**
 * Why a wire attempt got no permit:
 * - `max_wait`: the permit would come later than the limiter's `maxWaitMs` allows;
 * - `deadline`: it would come after the call's deadline;
 * - `queue_full`: too many attempts already wait for this partition;
 * - `weight_exceeds_capacity`: the attempt asks for more permits than the limiter ever holds;
 * - `closed`: the client closed while the attempt waited;
 * - `throttled`: client-side adaptive throttling refused it, the backend having refused many
 *   recent attempts (no wait would help).
 */
export type RateLimitRejection =
  | 'max_wait'
  | 'deadline'
  | 'queue_full'
  | 'weight_exceeds_capacity'
  | 'closed'
  | 'throttled';

const REJECTION_TEXT: Record<RateLimitRejection, string> = {
  max_wait: 'longer than its maxWaitMs',
  deadline: "past the call's deadline",
  queue_full: 'its wait queue is full',
  weight_exceeds_capacity: 'the weight is more than the limiter ever holds',
  closed: 'the client closed',
  throttled: 'the backend refused too many recent attempts',
};

const LIMITER_TEXT: Record<RateLimiterKind, string> = {
  rate_limiter: 'rate limiter',
  fleet_quota: 'fleet quota',
  cooldown: "server's rate-limit cooldown",
  adaptive_throttle: 'adaptive throttle',
};

/**
 * A rate limiter, the fleet quota or a server-driven cooldown had no permit for a wire
 * attempt in time: the attempt was not sent. Never retried (waiting longer is what the
 * caller declined); `waitMs` says how long the permit would have taken.
 */
export class RateLimitedError extends SteadfastError {
  readonly limiter: RateLimiterKind;
  readonly reason: RateLimitRejection;
  /** How long the attempt would have had to wait for its permit, ms; `Infinity`: never. */
  readonly waitMs: number;
  constructor(
    method: string,
    url: URL | string,
    limiter: RateLimiterKind,
    reason: RateLimitRejection,
    waitMs: number,
  ) {
    const wait = Number.isFinite(waitMs)
      ? `; the permit would have come in ${Math.ceil(waitMs)} ms`
      : '';
    super(
      'ERR_STEADFAST_RATE_LIMITED',
      `${where(method, url)}: not sent, no permit from the ${LIMITER_TEXT[limiter]} (${REJECTION_TEXT[reason]})${wait}`,
    );
    this.limiter = limiter;
    this.reason = reason;
    this.waitMs = waitMs;
  }
}

/**
 * One of the SDK's own timeouts elapsed: `attempt` (one wire attempt, up to the response
 * headers), `total` (the call's deadline), or `body` (no body chunk arrived for
 * `bodyTimeoutMs` while the body was being read).
 */
export class TimeoutError extends SteadfastError {
  readonly kind: 'attempt' | 'total' | 'body';
  readonly timeoutMs: number;
  constructor(
    method: string,
    url: URL | string,
    kind: 'attempt' | 'total' | 'body',
    timeoutMs: number,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(
      'ERR_STEADFAST_TIMEOUT',
      `${where(method, url)}: ${TIMEOUT_NAMES[kind]} of ${Math.round(timeoutMs)} ms elapsed${detail ? `; ${detail}` : ''}`,
      options,
    );
    this.kind = kind;
    this.timeoutMs = timeoutMs;
  }
}

const TIMEOUT_NAMES = {
  attempt: 'attempt timeout',
  total: 'total timeout (deadline)',
  body: 'body timeout (no data from the server)',
} as const;

/**
 * An attempt timed out while it was still waiting for a connection, because every
 * connection of the origin's pool was busy — typically held by response bodies nobody read.
 * The request was never sent; the downstream is not to blame, so the circuit breaker does
 * not count it and the retry strategy does not re-send it. A `TimeoutError` of kind `attempt`.
 */
export class PoolExhaustedError extends TimeoutError {
  readonly origin: string;
  readonly connections: number;
  constructor(
    method: string,
    url: URL | string,
    timeoutMs: number,
    origin: string,
    connections: number,
  ) {
    super(
      method,
      url,
      'attempt',
      timeoutMs,
      `not sent: all ${connections} connections to ${origin} stayed busy (connection pool exhausted; read or dump() every response body to free its connection)`,
    );
    this.origin = origin;
    this.connections = connections;
  }
}

/**
 * No response: the connection failed (refused, reset, DNS, TLS, socket closed). The
 * transport's own error, with its `code` (`ECONNREFUSED`, `UND_ERR_SOCKET`, ...), is the
 * `cause`; `errorCode` repeats that code.
 */
export class NetworkError extends SteadfastError {
  /** The network error code of the cause (`ECONNREFUSED`, ...), or `undefined`. */
  readonly errorCode: string | undefined;
  constructor(method: string, url: URL | string, errorCode: string | undefined, cause: unknown) {
    super(
      'ERR_STEADFAST_NETWORK',
      `${where(method, url)}: network error${errorCode ? ` ${errorCode}` : ''}`,
      { cause },
    );
    this.errorCode = errorCode;
  }
}

/**
 * The request could not be made as given: a URL that does not parse or is not http(s), a
 * method or header value that cannot be sent, an invalid per-call option. Never sent, never
 * retried.
 */
export class InvalidRequestError extends SteadfastError {
  /** The per-call option at fault (`timeoutMs`, `retry.maxRetries`, ...), when one is. */
  readonly field: string | undefined;
  constructor(message: string, options?: { cause?: unknown; field?: string }) {
    super('ERR_STEADFAST_INVALID_REQUEST', message, options);
    this.field = options?.field;
  }
}

/**
 * A response body read whole (`text()`, `json()`, `arrayBuffer()`, `bytes()`, `blob()`, the
 * JSON helpers) is larger than `maxResponseBytes`. Nothing past the limit was buffered and
 * the connection was closed. Streaming reads (`body`, `stream()`, `for await`) have no limit.
 */
export class ResponseTooLargeError extends SteadfastError {
  readonly limitBytes: number;
  constructor(method: string, url: URL | string, limitBytes: number) {
    super(
      'ERR_STEADFAST_RESPONSE_TOO_LARGE',
      `${where(method, url)}: response body larger than maxResponseBytes (${limitBytes} bytes); read it as a stream to go past the limit`,
    );
    this.limitBytes = limitBytes;
  }
}

/** A JSON helper got a 2xx response whose body is not valid JSON. The parse error is the `cause`. */
export class InvalidResponseError extends SteadfastError {
  readonly status: number;
  constructor(method: string, url: URL | string, status: number, options?: { cause?: unknown }) {
    super(
      'ERR_STEADFAST_INVALID_RESPONSE',
      `${where(method, url)}: responded ${status} with a body that is not valid JSON`,
      options,
    );
    this.status = status;
  }
}

/**
 * A JSON helper's `parse` (e.g. a zod or valibot schema's `parse`) threw on the body: the
 * response is not what the caller declared. `issue` is its first issue (the first line of
 * the thrown error's message, at most 200 characters); the thrown error is the `cause`. Not
 * retried: the server answered, with something else.
 *
 * @example
 * try { await client.getJson('/user', { parse: User.parse }); }
 * catch (e) { if (isResponseValidationError(e)) log.warn(e.issue); }
 */
export class ResponseValidationError extends SteadfastError {
  readonly status: number;
  /** The first issue the validator reported. */
  readonly issue: string;
  constructor(method: string, url: URL | string, status: number, cause: unknown) {
    const issue = firstIssue(cause);
    super(
      'ERR_STEADFAST_RESPONSE_VALIDATION',
      `${where(method, url)}: responded ${status} with a body that failed validation: ${issue}`,
      { cause },
    );
    this.status = status;
    this.issue = issue;
  }
}

const MAX_ISSUE_CHARS = 200;

/**
 * The first issue of a validator's error: zod's and valibot's keep their issues in `issues`
 * (a message and a path each); any other error gives the first line of its message.
 */
function firstIssue(error: unknown): string {
  let text: string;
  const issues = (error as { issues?: unknown } | null)?.issues;
  const first = Array.isArray(issues)
    ? (issues[0] as { message?: unknown; path?: unknown })
    : undefined;
  if (typeof first?.message === 'string') {
    const path = Array.isArray(first.path)
      ? first.path
          .map((item: unknown) =>
            item !== null && typeof item === 'object' ? (item as { key?: unknown }).key : item,
          )
          .join('.')
      : '';
    text = path ? `${path}: ${first.message}` : first.message;
  } else if (error instanceof Error) {
    text = error.message;
  } else {
    text = `${typeof error} thrown`;
  }
  text = (text.split('\n', 1)[0] ?? '').trim() || 'the validator threw without a message';
  return text.length > MAX_ISSUE_CHARS ? `${text.slice(0, MAX_ISSUE_CHARS)}…` : text;
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

/** The client was closed: new calls are refused, and calls still in flight end with this error. */
export class ClientClosedError extends SteadfastError {
  constructor(client: string, method?: string, url?: URL | string, options?: { cause?: unknown }) {
    super(
      'ERR_STEADFAST_CLIENT_CLOSED',
      `${method && url ? `${where(method, url)}: ` : ''}client ${client} is closed`,
      options,
    );
  }
}

/** The caller's `AbortSignal` aborted the call. */
export class AbortError extends SteadfastError {
  constructor(method: string, url: URL | string, options?: { cause?: unknown }) {
    super('ERR_STEADFAST_ABORTED', `${where(method, url)}: aborted by the caller`, options);
  }
}

/**
 * The reason a hedged attempt was cancelled: another attempt of the same call answered first
 * (or the call ended). The attempt ends with an `AbortError` whose `cause` is this; the call
 * never returns it.
 */
export class HedgeCancelledError extends SteadfastError {
  constructor(method: string, url: URL | string) {
    super(
      'ERR_STEADFAST_HEDGE_CANCELLED',
      `${where(method, url)}: hedged attempt cancelled, another attempt answered first`,
    );
  }
}

/**
 * The `fallback.handler` threw (or returned what cannot be served) while answering for a
 * failed call. The original failure is the `cause` — the error the call would have ended
 * with, or an `HttpStatusError` for a failed response (a 5xx, a 429), whose body was
 * discarded; what the handler threw is `handlerError`. The message names neither.
 */
export class FallbackError extends SteadfastError {
  /** The original failure's `error.type` (`circuit_open`, `timeout`, `503`, `ECONNREFUSED`, ...). */
  readonly trigger: string;
  /** What the handler threw, or what it returned that could not be served. */
  readonly handlerError: unknown;
  constructor(
    method: string,
    url: URL | string,
    trigger: string,
    failure: Error,
    handlerError: unknown,
    detail = 'threw',
  ) {
    super(
      'ERR_STEADFAST_FALLBACK',
      `${where(method, url)}: failed (${trigger}) and the fallback handler ${detail}; the original failure is the cause`,
      { cause: failure },
    );
    this.trigger = trigger;
    this.handlerError = handlerError;
  }
}

/** The user hooks of `ClientOptions.hooks`, as `HookError.hook` names them. */
export type HookName = 'beforeRequest' | 'afterResponse' | 'beforeRetry' | 'beforeError';

/**
 * A hook of `ClientOptions.hooks` threw (or returned what it may not): the call ends with
 * this error, the thrown value as `cause`. The message names the hook, never the cause's
 * message or a header (a hook sees the request's `Authorization`). Not retried, and not
 * counted by the circuit breaker: it says nothing about the downstream.
 */
export class HookError extends SteadfastError {
  readonly hook: HookName;
  /** The hook's place in its list (`hooks.beforeRequest[1]`), 0 for a single function. */
  readonly index: number;
  constructor(
    hook: HookName,
    index: number,
    request: { readonly method: string; readonly url: URL | string } | undefined,
    options: { cause: unknown; listed?: boolean; detail?: string },
  ) {
    const name = options.listed ? `hooks.${hook}[${index}]` : `hooks.${hook}`;
    super(
      'ERR_STEADFAST_HOOK',
      `${request ? `${where(request.method, request.url)}: ` : ''}the hook ${name} ${options.detail ?? 'threw'} (see the cause)`,
      { cause: options.cause },
    );
    this.hook = hook;
    this.index = index;
  }
}

/**
 * An `afterResponse` hook returned `retryableFailure()` for this response: the attempt
 * failed, and is retried like a transient failure (method, budget and deadline rules
 * apply). The call rejects with it when no retry follows.
 */
export class ResponseRejectedError extends SteadfastError {
  /** The status of the response the hook rejected. */
  readonly status: number;
  constructor(method: string, url: URL | string, status: number) {
    super(
      'ERR_STEADFAST_RESPONSE_REJECTED',
      `${where(method, url)}: the ${status} response was rejected by an afterResponse hook`,
    );
    this.status = status;
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
export const isRateLimitedError = (e: unknown): e is RateLimitedError =>
  e instanceof RateLimitedError;
export const isTimeoutError = (e: unknown): e is TimeoutError => e instanceof TimeoutError;
export const isPoolExhaustedError = (e: unknown): e is PoolExhaustedError =>
  e instanceof PoolExhaustedError;
export const isNetworkError = (e: unknown): e is NetworkError => e instanceof NetworkError;
export const isInvalidRequestError = (e: unknown): e is InvalidRequestError =>
  e instanceof InvalidRequestError;
export const isResponseTooLargeError = (e: unknown): e is ResponseTooLargeError =>
  e instanceof ResponseTooLargeError;
export const isInvalidResponseError = (e: unknown): e is InvalidResponseError =>
  e instanceof InvalidResponseError;
export const isResponseValidationError = (e: unknown): e is ResponseValidationError =>
  e instanceof ResponseValidationError;
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
export const isHookError = (e: unknown): e is HookError => e instanceof HookError;
export const isResponseRejectedError = (e: unknown): e is ResponseRejectedError =>
  e instanceof ResponseRejectedError;
export const isFallbackError = (e: unknown): e is FallbackError => e instanceof FallbackError;

import { SteadfastError } from '../errors.js';

/** OAuth2 error codes that mean "the configuration is wrong": retrying will not help. */
export const CONFIGURATION_ERROR_CODES: ReadonlySet<string> = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_scope',
  'unsupported_grant_type',
  'invalid_grant',
  'invalid_target',
  'invalid_request',
]);

/** What went wrong with one token-endpoint request. */
export type TokenEndpointFailureKind =
  /** Network error, timeout, 5xx, 429: worth trying again after a backoff. */
  | 'retryable'
  /** An OAuth2 configuration error (`invalid_client`, ...) or another 4xx: long backoff. */
  | 'configuration'
  /** A 2xx answer the SDK cannot use (not JSON, no `access_token`, bad `expires_in`, ...). */
  | 'malformed_response';

/**
 * One token-endpoint request failed. It is the `cause` of the `TokenUnavailableError`
 * the caller sees. Its message names the problem and never carries the client secret, the
 * token or the response body.
 */
export class TokenEndpointError extends SteadfastError {
  /** The `error.type` of the failure: OAuth2 error code, HTTP status, network code, `timeout`, `malformed_response`. */
  readonly errorType: string;
  readonly kind: TokenEndpointFailureKind;
  /** HTTP status of the answer, when there was one. */
  readonly status: number | undefined;
  /** `Retry-After` of the answer in milliseconds, when present. */
  readonly retryAfterMs: number | undefined;

  constructor(
    init: {
      errorType: string;
      kind: TokenEndpointFailureKind;
      status?: number | undefined;
      retryAfterMs?: number | undefined;
      detail: string;
    },
    options?: { cause?: unknown },
  ) {
    super('ERR_STEADFAST_TOKEN_ENDPOINT', init.detail, options);
    this.errorType = init.errorType;
    this.kind = init.kind;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** True for a failed token-endpoint request (the `cause` of a `TokenUnavailableError`). */
export const isTokenEndpointError = (e: unknown): e is TokenEndpointError =>
  e instanceof TokenEndpointError;

import { parseRetryAfter } from '../strategies/retry/retry-after.js';
import { kib, MAX_TOKEN_RESPONSE_BYTES } from './bounded-body.js';
import { CONFIGURATION_ERROR_CODES, TokenEndpointError } from './errors.js';

/** A usable answer of the token endpoint. */
export interface TokenResponse {
  readonly accessToken: string;
  /** The scheme to send the token with: `Bearer`, or `DPoP` when the request carried a proof. */
  readonly tokenType: 'Bearer' | 'DPoP';
  /** DPoP with the key shared through the store: the key the token is bound to (dpop/dpop.ts). */
  readonly dpopKey?: string;
  /** `expires_in` in milliseconds, or the configured default lifetime when absent. */
  readonly lifetimeMs: number;
  /** True when `expires_in` was absent and the default lifetime was used. */
  readonly defaultedLifetime: boolean;
}

/** Limits applied while parsing a token response. */
export interface TokenResponseLimits {
  /** Lifetime used when `expires_in` is absent. */
  readonly defaultLifetimeMs: number;
  /** Longer `expires_in` values are rejected as absurd. */
  readonly maxLifetimeMs: number;
  /** The request carried a DPoP proof: a token of type `DPoP` is accepted (RFC 9449 §5). */
  readonly dpop?: boolean;
}

/** Visible ASCII only: anything else could split or inject an HTTP header. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;
/** OAuth2 error codes are `%x20-21 / %x23-5B / %x5D-7E`; keep labels short and safe. */
const ERROR_CODE = /^[a-z0-9_.-]{1,64}$/i;

/** One answer of the token endpoint, as read off the wire. */
export interface TokenEndpointAnswer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  /** The body, or `undefined` when it was larger than the cap and was not read. */
  readonly text: string | undefined;
}

/**
 * Turn one token-endpoint answer into a {@link TokenResponse} or a typed
 * {@link TokenEndpointError}. Pure: no I/O, no clock. `redact` hides values (the client
 * secret in any encoding) that must never appear in an error message, even when the
 * server echoes them: every word of the server's that an error shows goes through it.
 * An error answer whose body was too large to read is classified by its status alone.
 */
export function parseTokenResponse(
  answer: TokenEndpointAnswer,
  limits: TokenResponseLimits,
  redact: (text: string) => string,
): TokenResponse {
  const { status } = answer;
  const json = tryJson(answer.text ?? '');
  if (status < 200 || status > 299)
    throw failureFromStatus(status, answer.retryAfter, json, redact);
  if (answer.text === undefined) {
    throw new TokenEndpointError({
      errorType: 'response_too_large',
      kind: 'malformed_response',
      status,
      detail: `the token endpoint answered ${status} with a body larger than ${kib(MAX_TOKEN_RESPONSE_BYTES)}; the connection was closed without reading it`,
    });
  }

  if (json === undefined || typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw malformed(
      'the token endpoint answered 2xx with a body that is not a JSON object',
      status,
    );
  }
  const body = json as Record<string, unknown>;
  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw malformed('the token response has no `access_token` string', status);
  }
  if (!TOKEN_CHARS.test(accessToken) || accessToken.length > 16_384) {
    throw malformed(
      'the `access_token` contains characters that cannot be sent in a header',
      status,
    );
  }
  const tokenType = body.token_type;
  // DPoP (RFC 9449 §5): a proof went with the request and the server bound the token to it.
  const dpop = limits.dpop === true && typeof tokenType === 'string' && /^dpop$/i.test(tokenType);
  // RFC 6749 §5.1 makes token_type REQUIRED, but several servers omit it; Bearer is the
  // only other type the SDK can send, so a missing one is read as Bearer.
  if (
    !dpop &&
    tokenType !== undefined &&
    (typeof tokenType !== 'string' || !/^bearer$/i.test(tokenType))
  ) {
    const shown = typeof tokenType === 'string' ? shownCode(tokenType, redact) || '?' : '?';
    throw new TokenEndpointError({
      errorType: 'unsupported_token_type',
      kind: 'configuration',
      status,
      detail: `the token endpoint issued a token of type "${shown}"; only Bearer tokens${limits.dpop ? ' and DPoP tokens' : ''} can be sent`,
    });
  }

  const expiresIn = body.expires_in;
  if (expiresIn === undefined || expiresIn === null) {
    return {
      accessToken,
      tokenType: dpop ? 'DPoP' : 'Bearer',
      lifetimeMs: limits.defaultLifetimeMs,
      defaultedLifetime: true,
    };
  }
  const seconds =
    typeof expiresIn === 'number'
      ? expiresIn
      : typeof expiresIn === 'string' && /^\d+$/.test(expiresIn)
        ? Number(expiresIn)
        : Number.NaN;
  if (!Number.isFinite(seconds)) {
    throw malformed('`expires_in` is not a number', status);
  }
  if (seconds <= 0) {
    throw malformed('`expires_in` is zero or negative', status);
  }
  const lifetimeMs = seconds * 1000;
  if (lifetimeMs > limits.maxLifetimeMs) {
    throw malformed(
      `\`expires_in\` of ${Math.round(seconds)} s is longer than the accepted maximum of ${Math.round(limits.maxLifetimeMs / 1000)} s`,
      status,
    );
  }
  return {
    accessToken,
    tokenType: dpop ? 'DPoP' : 'Bearer',
    lifetimeMs,
    defaultedLifetime: false,
  };
}

function failureFromStatus(
  status: number,
  retryAfter: string | undefined,
  json: unknown,
  redact: (text: string) => string,
): TokenEndpointError {
  const body = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const code = typeof body.error === 'string' ? shownCode(body.error, redact) : '';
  // Redacted before anything else, so neither the clean-up nor the cut can split a secret
  // into a form the redaction no longer recognises.
  const description =
    typeof body.error_description === 'string'
      ? `: ${redact(body.error_description)
          .replace(/[^\x20-\x7e]/g, '?')
          .slice(0, 200)}`
      : '';
  const retryAfterMs = parseRetryAfter(retryAfter);
  const retryable =
    status >= 500 ||
    status === 429 ||
    status === 408 ||
    code === 'server_error' ||
    code === 'temporarily_unavailable';
  if (retryable) {
    return new TokenEndpointError({
      errorType: String(status),
      kind: 'retryable',
      status,
      retryAfterMs,
      detail: `the token endpoint answered ${status}${code ? ` ${code}` : ''}${retryAfterMs !== undefined ? `, Retry-After ${Math.ceil(retryAfterMs / 1000)} s` : ''}`,
    });
  }
  const errorType = code || String(status);
  const hint = CONFIGURATION_ERROR_CODES.has(code) ? configurationHint(code) : '';
  return new TokenEndpointError({
    errorType,
    kind: 'configuration',
    status,
    retryAfterMs,
    detail: `the token endpoint refused the request with ${status}${code ? ` ${code}` : ''}${description}${hint}`,
  });
}

/**
 * An error code or token type the server sent, if it may be shown and used as a label: a
 * short code-like word that carries no encoding of the secret (a server echoing the secret
 * as `error` would otherwise put it into messages, metrics and the fleet's backoff key).
 * `''` otherwise.
 */
function shownCode(value: string, redact: (text: string) => string): string {
  return ERROR_CODE.test(value) && redact(value) === value ? value : '';
}

function configurationHint(code: string): string {
  switch (code) {
    case 'invalid_client':
      return ' (check clientId, clientSecret and clientAuthMethod)';
    case 'invalid_scope':
      return ' (check scope)';
    case 'invalid_target':
      return ' (check audience/resource)';
    case 'unauthorized_client':
      return ' (the client may not use the client_credentials grant)';
    default:
      return '';
  }
}

function malformed(detail: string, status: number): TokenEndpointError {
  return new TokenEndpointError({
    errorType: 'malformed_response',
    kind: 'malformed_response',
    status,
    detail,
  });
}

function tryJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

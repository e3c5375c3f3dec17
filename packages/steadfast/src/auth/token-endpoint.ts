import { type Dispatcher, request } from 'undici';
import { errorCode } from '../http/classify.js';
import { MAX_TOKEN_RESPONSE_BYTES, readBounded } from './bounded-body.js';
import { JWT_BEARER_ASSERTION_TYPE } from './client-assertion.js';
import type { Dpop } from './dpop/dpop.js';
import { TokenEndpointError } from './errors.js';
import type { TokenEvents, TokenRequestOutcome } from './events.js';
import { formEncode, secretsRedactor } from './redact-secret.js';
import {
  parseTokenResponse,
  type TokenEndpointAnswer,
  type TokenResponse,
  type TokenResponseLimits,
} from './token-response.js';

/**
 * How the client authenticates at the token endpoint: the secret itself (RFC 6749 §2.3.1),
 * a signed client assertion (RFC 7523 §2.2, OIDC Core §9) or its TLS client certificate
 * (RFC 8705 §2).
 */
export type ClientAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth';

/** Everything one client-credentials request needs. */
export interface TokenRequestConfig {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  /** Absent with `private_key_jwt` and the mTLS methods. */
  readonly clientSecret: string | undefined;
  readonly authMethod: ClientAuthMethod;
  /** Signs a fresh client assertion for this token endpoint (`*_jwt` methods). */
  readonly signAssertion?: ((tokenEndpoint: string) => string) | undefined;
  readonly scopes: readonly string[];
  readonly audience: string | undefined;
  readonly resource: string | undefined;
  /** A claims challenge's claims (a JSON object), sent as the `claims` parameter. */
  readonly claims?: string | undefined;
  readonly timeoutMs: number;
  readonly limits: TokenResponseLimits;
  /** DPoP (RFC 9449 §5): a proof goes with the request; a `use_dpop_nonce` 400 is re-sent once. */
  readonly dpop?: Dpop | undefined;
  readonly dispatcher: Dispatcher | undefined;
  /** Runs around the request (telemetry's CLIENT span); sees its status, never the token. */
  readonly requestScope?: TokenEvents['requestScope'];
  /** Aborted when the authorization is closed: a request in flight ends at once. */
  readonly closing?: AbortSignal;
}

/** The request's timeout, and the authorization's close when there is one. */
export function withClosing(timeout: AbortSignal, closing: AbortSignal | undefined): AbortSignal {
  return closing ? AbortSignal.any([timeout, closing]) : timeout;
}

/** RFC 6749 §2.3.1: form-urlencode the id and secret before base64 (not just base64). */
function basicCredentials(clientId: string, clientSecret: string): string {
  return Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64');
}

/**
 * One client-credentials grant (RFC 6749 §4.4) with undici. Resolves a usable token or
 * throws a {@link TokenEndpointError}; never retries (the token manager decides that,
 * fleet-wide). The secret, in every encoding the request carried it in, is redacted from
 * anything the server echoes back. A body past 64 KiB is not read: the connection is cut.
 */
export async function requestClientCredentialsToken(
  config: TokenRequestConfig,
): Promise<TokenResponse> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (config.scopes.length > 0) form.set('scope', config.scopes.join(' '));
  if (config.audience !== undefined) form.set('audience', config.audience);
  if (config.resource !== undefined) form.set('resource', config.resource);
  if (config.claims !== undefined) form.set('claims', config.claims);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  // Everything secret the request carries, to hide from what the server sends back.
  const secrets: string[] = [];
  if (config.clientSecret !== undefined) secrets.push(config.clientSecret);
  const { signAssertion } = config;
  /** A client assertion is single-use (its `jti`): each send of the request signs its own. */
  const signFreshAssertion = signAssertion
    ? () => {
        const assertion = signAssertion(config.tokenEndpoint);
        secrets.push(assertion, assertion.slice(assertion.lastIndexOf('.') + 1));
        form.set('client_assertion', assertion);
      }
    : undefined;
  if (signFreshAssertion) {
    form.set('client_id', config.clientId);
    form.set('client_assertion_type', JWT_BEARER_ASSERTION_TYPE);
  } else if (
    config.authMethod === 'tls_client_auth' ||
    config.authMethod === 'self_signed_tls_client_auth'
  ) {
    // RFC 8705 §2: the TLS handshake (the dispatcher's client certificate) authenticates.
    form.set('client_id', config.clientId);
  } else if (config.authMethod === 'client_secret_basic') {
    headers.authorization = `Basic ${basicCredentials(config.clientId, config.clientSecret!)}`;
  } else {
    form.set('client_id', config.clientId);
    form.set('client_secret', config.clientSecret!);
  }

  // The exchange reports only its HTTP outcome to the request scope (telemetry's CLIENT
  // span); the answer (the token) and the error stay in this function.
  let answer: TokenEndpointAnswer | undefined;
  let failure: TokenEndpointError | undefined;
  const exchange = async (): Promise<TokenRequestOutcome> => {
    let status: number | undefined;
    try {
      const signal = withClosing(AbortSignal.timeout(config.timeoutMs), config.closing);
      // DPoP: a fresh proof per send; a 400 use_dpop_nonce is re-sent once, at once, with
      // the nonce the server gave (RFC 9449 §8), within the same timeout.
      let challenged: string | undefined;
      for (let send = 0; ; send++) {
        signFreshAssertion?.();
        const dpop = config.dpop?.tokenRequestProof(config.tokenEndpoint, challenged);
        if (dpop !== undefined) {
          headers.dpop = dpop.proof;
          secrets.push(dpop.proof, dpop.proof.slice(dpop.proof.lastIndexOf('.') + 1));
        }
        const response = await request(config.tokenEndpoint, {
          method: 'POST',
          headers,
          body: form.toString(),
          signal,
          ...(config.dispatcher ? { dispatcher: config.dispatcher } : {}),
        });
        status = response.statusCode;
        const header = response.headers['retry-after'];
        const retryAfter = Array.isArray(header) ? header[0] : header;
        const text = await readBounded(response, MAX_TOKEN_RESPONSE_BYTES);
        answer = { status, retryAfter, text };
        challenged = config.dpop?.tokenAnswer(
          config.tokenEndpoint,
          dpop!,
          status,
          response.headers['dpop-nonce'],
          text,
        );
        if (challenged === undefined || send > 0) break;
      }
      if (status >= 400) return { status, errorType: String(status) };
      return { status, errorType: answer.text === undefined ? 'response_too_large' : undefined };
    } catch (error) {
      const timedOut = (error as Error)?.name === 'TimeoutError';
      const closed = config.closing?.aborted === true;
      const code = closed ? 'closed' : timedOut ? 'timeout' : (errorCode(error) ?? '_OTHER');
      // The undici error message may quote the request; keep only the code.
      failure = new TokenEndpointError({
        errorType: code,
        kind: 'retryable',
        detail: closed
          ? 'the authorization was closed during the token request'
          : timedOut
            ? `the token endpoint did not answer within ${config.timeoutMs} ms`
            : `the token endpoint could not be reached (${code})`,
      });
      return { status, errorType: code };
    }
  };
  const scope = config.requestScope;
  if (scope) await scope.run({ method: 'POST', url: config.tokenEndpoint }, exchange);
  else await exchange();
  // The scope runs `exchange` exactly once, so one of the two is set.
  if (failure !== undefined) throw failure;
  const token = parseTokenResponse(
    answer!,
    config.limits,
    secretsRedactor(config.clientId, secrets),
  );
  // DPoP, key shared through the store: the key goes with the token bound to it.
  const dpopKey = token.tokenType === 'DPoP' ? config.dpop?.sharedKey : undefined;
  return dpopKey === undefined ? token : { ...token, dpopKey };
}

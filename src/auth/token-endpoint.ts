import { type Dispatcher, request } from 'undici';
import { errorCode } from '../http/classify.js';
import { TokenEndpointError } from './errors.js';
import type { TokenEvents, TokenRequestOutcome } from './events.js';
import {
  parseTokenResponse,
  type TokenResponse,
  type TokenResponseLimits,
} from './token-response.js';

/** How the client authenticates at the token endpoint (RFC 6749 §2.3.1). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** Everything one client-credentials request needs. */
export interface TokenRequestConfig {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: ClientAuthMethod;
  readonly scopes: readonly string[];
  readonly audience: string | undefined;
  readonly resource: string | undefined;
  readonly timeoutMs: number;
  readonly limits: TokenResponseLimits;
  readonly dispatcher: Dispatcher | undefined;
  /** Runs around the request (telemetry's CLIENT span); sees its status, never the token. */
  readonly requestScope?: TokenEvents['requestScope'];
}

const MAX_BODY_BYTES = 64 * 1024; // 64 KiB: a token response is a few KiB at most

/** RFC 6749 §2.3.1: form-urlencode the id and secret before base64 (not just base64). */
function basicCredentials(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64');
}

/**
 * One client-credentials grant (RFC 6749 §4.4) with undici. Resolves a usable token or
 * throws a {@link TokenEndpointError}; never retries (the token manager decides that,
 * fleet-wide). The secret is redacted from anything the server echoes back.
 */
export async function requestClientCredentialsToken(
  config: TokenRequestConfig,
): Promise<TokenResponse> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (config.scopes.length > 0) form.set('scope', config.scopes.join(' '));
  if (config.audience !== undefined) form.set('audience', config.audience);
  if (config.resource !== undefined) form.set('resource', config.resource);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (config.authMethod === 'client_secret_basic') {
    headers.authorization = `Basic ${basicCredentials(config.clientId, config.clientSecret)}`;
  } else {
    form.set('client_id', config.clientId);
    form.set('client_secret', config.clientSecret);
  }

  // The exchange reports only its HTTP outcome to the request scope (telemetry's CLIENT
  // span); the answer (the token) and the error stay in this function.
  let answer: { status: number; retryAfter: string | undefined; text: string } | undefined;
  let failure: TokenEndpointError | undefined;
  const exchange = async (): Promise<TokenRequestOutcome> => {
    let status: number | undefined;
    try {
      const response = await request(config.tokenEndpoint, {
        method: 'POST',
        headers,
        body: form.toString(),
        signal: AbortSignal.timeout(config.timeoutMs),
        ...(config.dispatcher ? { dispatcher: config.dispatcher } : {}),
      });
      status = response.statusCode;
      const header = response.headers['retry-after'];
      const retryAfter = Array.isArray(header) ? header[0] : header;
      answer = { status, retryAfter, text: await readLimited(response.body) };
      return { status, errorType: status >= 400 ? String(status) : undefined };
    } catch (error) {
      const timedOut = (error as Error)?.name === 'TimeoutError';
      const code = timedOut ? 'timeout' : (errorCode(error) ?? '_OTHER');
      // The undici error message may quote the request; keep only the code.
      failure = new TokenEndpointError({
        errorType: code,
        kind: 'retryable',
        detail: timedOut
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
  return parseTokenResponse(answer!, config.limits, (value) =>
    value.split(config.clientSecret).join('[redacted]'),
  );
}

async function readLimited(
  body: AsyncIterable<Buffer> & { dump?: () => Promise<void> },
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      await body.dump?.();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

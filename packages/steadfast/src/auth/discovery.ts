import { type Dispatcher, request } from 'undici';
import { safeUrl } from '../errors.js';
import { errorCode } from '../http/classify.js';
import { discardBody, kib, MAX_METADATA_BYTES, readBounded } from './bounded-body.js';
import { TokenEndpointError } from './errors.js';
import { withClosing } from './token-endpoint.js';

/**
 * The well-known URLs to try for an issuer, in order: RFC 8414 (path inserted after the
 * host), then OpenID Connect Discovery (path appended).
 */
export function discoveryUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
}

/** What one metadata document gave: the token endpoint, or why not. */
type Outcome = { endpoint: string } | { problem: string };

/**
 * Find the token endpoint of an issuer (RFC 8414, then OpenID discovery). The metadata's
 * `issuer` must equal the configured issuer (RFC 8414 §3.3), so a misrouted document is
 * never trusted. Throws a retryable {@link TokenEndpointError} (`discovery_failed`) when
 * neither document is usable; the token manager backs off like for any token-endpoint
 * failure. A document past 256 KiB is not read (the connection is cut) and ends discovery
 * at once with `response_too_large`. Messages show the issuer without userinfo or query.
 * With `mtls` (the client presents a certificate), an `mtls_endpoint_aliases.token_endpoint`
 * is used in preference to `token_endpoint` (RFC 8705 §5).
 */
export async function discoverTokenEndpoint(
  issuer: string,
  timeoutMs: number,
  dispatcher: Dispatcher | undefined,
  closing?: AbortSignal,
  mtls = false,
): Promise<string> {
  const problems: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    const outcome = await readMetadata(url, issuer, timeoutMs, dispatcher, closing, mtls);
    if ('endpoint' in outcome) return outcome.endpoint;
    problems.push(`${new URL(url).pathname} ${outcome.problem}`);
  }
  throw new TokenEndpointError({
    errorType: 'discovery_failed',
    kind: 'retryable',
    detail: `could not discover the token endpoint of ${safeUrl(issuer)}: ${problems.join('; ')}`,
  });
}

async function readMetadata(
  url: string,
  issuer: string,
  timeoutMs: number,
  dispatcher: Dispatcher | undefined,
  closing: AbortSignal | undefined,
  mtls: boolean,
): Promise<Outcome> {
  let text: string | undefined;
  try {
    const response = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: withClosing(AbortSignal.timeout(timeoutMs), closing),
      ...(dispatcher ? { dispatcher } : {}),
    });
    if (response.statusCode !== 200) {
      // Nothing of it is needed: cut the connection rather than drain an unknown body.
      discardBody(response.body);
      return { problem: `answered ${response.statusCode}` };
    }
    text = await readBounded(response, MAX_METADATA_BYTES);
  } catch (error) {
    return { problem: `failed: ${errorCode(error) ?? (error as Error)?.name ?? 'error'}` };
  }
  if (text === undefined) {
    // A document this size is broken or hostile: stop here rather than read another.
    throw new TokenEndpointError({
      errorType: 'response_too_large',
      kind: 'malformed_response',
      status: 200,
      detail: `the discovery document ${safeUrl(url)} of ${safeUrl(issuer)} is larger than ${kib(MAX_METADATA_BYTES)}; the connection was closed without reading it`,
    });
  }
  return tokenEndpointOf(text, issuer, mtls);
}

function tokenEndpointOf(text: string, issuer: string, mtls: boolean): Outcome {
  let metadata: unknown;
  try {
    metadata = JSON.parse(text);
  } catch {
    return { problem: 'is not JSON' };
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    return { problem: 'is not a JSON object' };
  }
  const {
    issuer: named,
    token_endpoint: plain,
    mtls_endpoint_aliases: aliases,
  } = metadata as Record<string, unknown>;
  const alias = mtls ? (aliases as Record<string, unknown> | null)?.token_endpoint : undefined;
  const tokenEndpoint = alias === undefined ? plain : alias;
  if (typeof named !== 'string' || named.replace(/\/$/, '') !== issuer.replace(/\/$/, '')) {
    return { problem: 'names another issuer' };
  }
  if (typeof tokenEndpoint !== 'string') return { problem: 'has no token_endpoint' };
  let endpoint: URL;
  try {
    endpoint = new URL(tokenEndpoint);
  } catch {
    return { problem: 'names a token_endpoint that is not a URL' };
  }
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') {
    return { problem: 'names a token_endpoint that is not http(s)' };
  }
  // Credentials in the URL would be sent along with (or instead of) the client's own.
  if (endpoint.username || endpoint.password) {
    return { problem: 'names a token_endpoint with credentials in it' };
  }
  return { endpoint: endpoint.toString() };
}

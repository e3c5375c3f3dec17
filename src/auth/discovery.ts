import { type Dispatcher, request } from 'undici';
import { errorCode } from '../http/classify.js';
import { TokenEndpointError } from './errors.js';

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

/**
 * Find the token endpoint of an issuer (RFC 8414, then OpenID discovery). The metadata's
 * `issuer` must equal the configured issuer (RFC 8414 §3.3), so a misrouted document is
 * never trusted. Throws a retryable {@link TokenEndpointError} when neither document is
 * usable; the token manager backs off like for any token-endpoint failure.
 */
export async function discoverTokenEndpoint(
  issuer: string,
  timeoutMs: number,
  dispatcher: Dispatcher | undefined,
): Promise<string> {
  const problems: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    try {
      const response = await request(url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
        ...(dispatcher ? { dispatcher } : {}),
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        problems.push(`${new URL(url).pathname} answered ${response.statusCode}`);
        continue;
      }
      const metadata = (await response.body.json()) as Record<string, unknown>;
      const sameIssuer =
        typeof metadata.issuer === 'string' &&
        metadata.issuer.replace(/\/$/, '') === issuer.replace(/\/$/, '');
      if (!sameIssuer || typeof metadata.token_endpoint !== 'string') {
        problems.push(`${new URL(url).pathname} has no matching issuer or no token_endpoint`);
        continue;
      }
      const endpoint = new URL(metadata.token_endpoint);
      if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') {
        problems.push(`${new URL(url).pathname} names a token_endpoint that is not http(s)`);
        continue;
      }
      return endpoint.toString();
    } catch (error) {
      problems.push(
        `${new URL(url).pathname}: ${errorCode(error) ?? (error as Error)?.name ?? 'error'}`,
      );
    }
  }
  throw new TokenEndpointError({
    errorType: 'discovery_failed',
    kind: 'retryable',
    detail: `could not discover the token endpoint of ${issuer}: ${problems.join('; ')}`,
  });
}

import { basicAuthorization } from './token-introspector.js';

/** Where and as whom to revoke tokens (RFC 7009). */
export interface RevocationEndpoint {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** What the revocation endpoint said: revoked, or why not. */
export type RevocationAnswer =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string };

/**
 * Revoke an access token at the IdP. Never throws: an unreachable or refusing endpoint is
 * an answer, so an admin route can report it.
 */
export async function revokeAtIdp(
  endpoint: RevocationEndpoint,
  token: string,
  timeoutMs = 5_000, // 5 s
): Promise<RevocationAnswer> {
  let res: Response;
  try {
    res = await fetch(endpoint.url, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(endpoint.clientId, endpoint.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return { ok: false, reason: `revocation endpoint unreachable: ${(error as Error).message}` };
  }
  await res.body?.cancel();
  return res.status === 200
    ? { ok: true }
    : { ok: false, reason: `revocation endpoint answered ${res.status}` };
}

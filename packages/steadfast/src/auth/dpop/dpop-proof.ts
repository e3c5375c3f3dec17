import { createHash, randomUUID } from 'node:crypto';
import { signature } from '../client-assertion.js';
import type { DpopKey } from './dpop-key.js';

/**
 * One DPoP proof (RFC 9449 §4.2): a JWT of type `dpop+jwt` signed with the key the token is
 * bound to, its public JWK in the header; `htm` and `htu` of the one request it goes with,
 * `iat`, a `jti` never used before, the server's `nonce` when it gave one, and `ath` (the
 * hash of the access token) on requests to a resource. A proof goes on one wire attempt
 * only: it is never cached, stored, logged or emitted.
 */

export interface ProofClaims {
  /** The request's method. */
  readonly htm: string;
  /** The request's URL; its query and fragment are left out here (RFC 9449 §4.2). */
  readonly url: string | URL;
  /** The server's last `DPoP-Nonce`, if any. */
  readonly nonce?: string | undefined;
  /** The access token the request carries (resource requests), hashed into `ath`. */
  readonly accessToken?: string | undefined;
  readonly nowMs: number;
}

const base64url = (value: unknown): string =>
  Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** `htu`: the URL without query and fragment (RFC 9449 §4.2, §4.3 step 9). */
export function htuOf(url: string | URL): string {
  const parsed = new URL(url);
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}

/** `ath`: base64url SHA-256 of the access token's ASCII (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/** Sign one proof, unique per call (`jti`). */
export function signDpopProof(claims: ProofClaims, key: DpopKey): string {
  const header = { typ: 'dpop+jwt', alg: key.algorithm, jwk: key.publicJwk };
  const payload = {
    jti: randomUUID(),
    htm: claims.htm,
    htu: htuOf(claims.url),
    iat: Math.floor(claims.nowMs / 1000),
    ...(claims.nonce !== undefined ? { nonce: claims.nonce } : {}),
    ...(claims.accessToken !== undefined ? { ath: accessTokenHash(claims.accessToken) } : {}),
  };
  const signingInput = `${base64url(header)}.${base64url(payload)}`;
  const signed = signature(signingInput, {
    algorithm: key.algorithm,
    key: key.privateKey,
    keyId: undefined,
  });
  return `${signingInput}.${signed.toString('base64url')}`;
}

import { constants, createHmac, type KeyObject, randomUUID, sign } from 'node:crypto';
import type { ClientAssertionAlgorithm } from './client-key.js';

/**
 * Client assertions for `client_secret_jwt` and `private_key_jwt` (RFC 7523 §2.2, OIDC
 * Core §9): a JWT with `iss` = `sub` = the client id, `aud`, a fresh `jti`, `iat` and a
 * short `exp`, signed per token request. An assertion lives only in the request body: it
 * is never cached, stored, logged or emitted.
 */

/** `client_assertion_type` of RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The key an assertion is signed with: the client secret (HS256) or a private key. */
export type AssertionKey =
  | { readonly algorithm: 'HS256'; readonly secret: string }
  | {
      readonly algorithm: Exclude<ClientAssertionAlgorithm, 'HS256'>;
      readonly key: KeyObject;
      readonly keyId: string | undefined;
    };

export interface AssertionClaims {
  readonly clientId: string;
  readonly audience: string;
  readonly lifetimeMs: number;
  readonly nowMs: number;
}

const base64url = (value: unknown): string =>
  Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** The JWS signature (RFC 7515) of `signingInput`; also signs DPoP proofs (dpop/dpop-proof.ts). */
export function signature(signingInput: string, key: AssertionKey): Buffer {
  const data = Buffer.from(signingInput, 'ascii');
  switch (key.algorithm) {
    case 'HS256':
      return createHmac('sha256', key.secret).update(data).digest();
    case 'RS256':
      return sign('sha256', data, key.key);
    case 'PS256':
      return sign('sha256', data, {
        key: key.key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32, // RFC 7518 §3.5: the salt is as long as the hash
      });
    case 'ES256':
      // JWS wants r || s (RFC 7518 §3.4), not node's default DER
      return sign('sha256', data, { key: key.key, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA':
      return sign(null, data, key.key);
  }
}

/** One signed assertion, unique per call (`jti`). */
export function signClientAssertion(claims: AssertionClaims, key: AssertionKey): string {
  const iat = Math.floor(claims.nowMs / 1000);
  const header = {
    alg: key.algorithm,
    typ: 'JWT',
    ...(key.algorithm !== 'HS256' && key.keyId !== undefined ? { kid: key.keyId } : {}),
  };
  const payload = {
    iss: claims.clientId,
    sub: claims.clientId,
    aud: claims.audience,
    jti: randomUUID(),
    iat,
    exp: iat + Math.max(1, Math.round(claims.lifetimeMs / 1000)),
  };
  const signingInput = `${base64url(header)}.${base64url(payload)}`;
  return `${signingInput}.${signature(signingInput, key).toString('base64url')}`;
}

import { createHash } from 'node:crypto';

/**
 * A short, non-reversible name for a token: the first 16 characters of the base64url
 * SHA-256 of the token (96 bits). Logs, events, spans, Redis comparisons and 401 handling
 * use it; the token itself never leaves the token manager and the `Authorization` header.
 *
 * @example tokenFingerprint('eyJhbGci...') // => 'q3Xy0V9pJr1mN2bA'
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 16);
}

/** What makes two token configurations interchangeable. Secrets are not part of it. */
export interface CredentialKeyParts {
  /** The token endpoint, or the issuer when the endpoint is discovered. */
  readonly endpoint: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly audience: string | undefined;
  readonly resource: string | undefined;
  readonly authMethod: string;
  /** `private_key_jwt`: the RFC 7638 thumbprint of the public key (a new key, a new token). */
  readonly keyThumbprint?: string | undefined;
  /** DPoP: `dpop`, or `dpop:` + the thumbprint of a key the fleet does not share (dpop/dpop.ts). */
  readonly dpop?: string | undefined;
  /**
   * `clientCertificate`: the certificate's SHA-256 thumbprint (RFC 8705 `x5t#S256`), so a
   * rotated certificate (which a bound token is tied to) is another credential.
   */
  readonly certificateThumbprint?: string | undefined;
}

/**
 * The credential key `k`: a hash of everything that changes which token the endpoint
 * issues. Two configurations that differ in scope (in any order), audience, resource or
 * client authentication method never share a token. 32 hex characters, safe inside a
 * Redis Cluster hash tag.
 */
export function credentialKey(parts: CredentialKeyParts): string {
  const canonical = JSON.stringify([
    'v1',
    parts.endpoint,
    parts.clientId,
    [...new Set(parts.scopes)].sort(),
    parts.audience ?? null,
    parts.resource ?? null,
    parts.authMethod,
    // Only when there is one, so the keys of secret-based credentials stay as they were.
    ...(parts.keyThumbprint === undefined ? [] : [parts.keyThumbprint]),
    ...(parts.dpop === undefined ? [] : [parts.dpop]),
    ...(parts.certificateThumbprint === undefined
      ? []
      : [`x5t#S256:${parts.certificateThumbprint}`]),
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

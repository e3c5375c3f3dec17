import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type JsonWebKey,
  KeyObject,
} from 'node:crypto';

/**
 * The key of a `private_key_jwt` client (RFC 7523 §2.2): read once, at construction, and
 * checked against the signing algorithm. Messages name what is wrong, never the key.
 */

/** A private key as PEM (PKCS8, PKCS1 or SEC1), a private JWK, or a node `KeyObject`. */
export type ClientSigningKey = string | JsonWebKey | KeyObject;

/** The algorithms a client assertion is signed with. */
export type ClientAssertionAlgorithm = 'HS256' | 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

export const ASYMMETRIC_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;

/** RSA below 2048 bits is refused by identity providers (and by RFC 7518 §3.3). */
const MIN_RSA_BITS = 2048;

/** A private KeyObject, or what is wrong with the value (never quoting it). */
export function readPrivateKey(value: unknown): KeyObject | string {
  try {
    if (value instanceof KeyObject) {
      return value.type === 'private'
        ? value
        : `must be a private key, got a ${value.type} KeyObject`;
    }
    if (typeof value === 'string') {
      if (!value.includes('-----BEGIN')) return 'must be a PEM private key (-----BEGIN ...)';
      if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/.test(value)) {
        return 'is an encrypted PEM key: give it decrypted, as a KeyObject (crypto.createPrivateKey({ key, passphrase }))';
      }
      return createPrivateKey({ key: value, format: 'pem' });
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      if (typeof (value as JsonWebKey).d !== 'string') {
        return 'must be a private JWK (it has no "d" member)';
      }
      return createPrivateKey({ key: value as JsonWebKey, format: 'jwk' });
    }
  } catch {
    // node's message may quote the key material: ours says only that it could not be read
    return 'could not be read as a private key (PEM, JWK or KeyObject)';
  }
  return 'must be a PEM string, a private JWK or a private KeyObject';
}

/** The algorithm that fits the key when `signingAlgorithm` is not given. */
export function defaultAlgorithm(key: KeyObject): ClientAssertionAlgorithm | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    case 'ec':
      return 'ES256';
    case 'ed25519':
    case 'ed448':
      return 'EdDSA';
    default:
      return undefined;
  }
}

/** What makes `algorithm` unusable with `key`, or `undefined`. */
export function algorithmProblem(
  key: KeyObject,
  algorithm: ClientAssertionAlgorithm,
): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails;
  switch (algorithm) {
    case 'RS256':
    case 'PS256':
      if (type !== 'rsa' && !(type === 'rsa-pss' && algorithm === 'PS256')) break;
      if ((details?.modulusLength ?? 0) < MIN_RSA_BITS) {
        return `needs an RSA key of at least ${MIN_RSA_BITS} bits for ${algorithm}`;
      }
      return undefined;
    case 'ES256':
      if (type === 'ec' && details?.namedCurve === 'prime256v1') return undefined;
      if (type === 'ec') return 'ES256 needs an EC key on the P-256 curve';
      break;
    case 'EdDSA':
      if (type === 'ed25519' || type === 'ed448') return undefined;
      break;
    case 'HS256':
      return 'HS256 is for client_secret_jwt (signed with the client secret), not for a private key';
  }
  return `${algorithm} does not fit a${type === 'ec' || type?.startsWith('ed') ? 'n' : ''} ${type ?? 'unknown'} key`;
}

/**
 * The RFC 7638 thumbprint of the key's public half (base64url SHA-256): what names a
 * `private_key_jwt` credential in store keys. Derived from public members only.
 */
export function publicKeyThumbprint(key: KeyObject): string {
  const publicKey = key.type === 'public' ? key : createPublicKey(key);
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const members: Record<string, readonly string[]> = {
    RSA: ['e', 'kty', 'n'],
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
  };
  const required = members[jwk.kty!] ?? ['kty'];
  // Members in lexicographic order, no whitespace (RFC 7638 §3.2).
  const canonical = `{${required.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

import { createHash } from 'node:crypto';

/**
 * A short, stable, non-reversible name for a token: the first 16 characters of the base64url
 * SHA-256 of the token — the same fingerprint the SDK's token manager logs, so the IdP, the
 * API and the workers name a token alike. Logs and stats carry this, never the token.
 *
 * @example tokenFingerprint('eyJhbGci...') // => 'q3Xy0V9pJr1mN2bA'
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 16);
}

import { createHash } from 'node:crypto';

/**
 * A short, stable, non-reversible name for a token: the first 12 hex digits of its SHA-256.
 * Logs and stats carry this, never the token itself.
 *
 * @example tokenFingerprint('eyJhbGci...') // => '3f9a1c0b7e2d'
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}

import { createHash, timingSafeEqual } from 'node:crypto';

/** Shortest admin token the demo apps (IdP, flaky API) accept. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 b64token), if any. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i.exec(header);
  return match?.[1];
}

/**
 * Whether `candidate` equals the secret whose SHA-256 is `secretHash`, in constant time
 * (hashing first makes the lengths equal, so the comparison leaks neither).
 */
export function matchesSecret(candidate: string, secretHash: Buffer): boolean {
  return timingSafeEqual(sha256(candidate), secretHash);
}

/** SHA-256 of a string, raw bytes. */
export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

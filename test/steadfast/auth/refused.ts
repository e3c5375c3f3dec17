import { expect } from 'vitest';
import type { ClientCredentialsAuthorization } from '../../../packages/steadfast/src/auth/index.js';
import { createClient } from '../../../packages/steadfast/src/client.js';
import { TokenUnavailableError } from '../../../packages/steadfast/src/errors.js';

/**
 * Five concurrent calls with a credential the IdP refuses: each must fail with
 * `invalid_client` after one token request in all (`tokenRequests` counts them at the IdP).
 * Returns everything the caller and the token events were shown, to look for secrets in.
 */
export async function refusedFiveTimes(
  auth: ClientCredentialsAuthorization,
  apiUrl: string,
  tokenRequests: () => number,
): Promise<string> {
  const seen: string[] = [];
  auth.tokenEvents.fetchEnd.event((e) => seen.push(JSON.stringify(e)));
  const client = createClient({
    name: 'refused',
    baseUrl: apiUrl,
    auth,
    telemetry: { metrics: false, tracing: false },
  });
  try {
    const errors = await Promise.all(
      Array.from({ length: 5 }, () => client.fetch('/data').catch((e: unknown) => e)),
    );
    for (const error of errors) {
      expect(error).toBeInstanceOf(TokenUnavailableError);
      expect((error as TokenUnavailableError).reason).toBe('invalid_client');
    }
    expect(tokenRequests()).toBe(1);
    return [
      ...errors.map((e) => `${(e as Error).message} ${String((e as Error).cause)}`),
      ...seen,
    ].join('\n');
  } finally {
    await client.close();
  }
}

import { expect } from 'vitest';
import type { Report } from './fixtures/fleet-worker.js';
import type { CallResult } from './fixtures/pipeline.js';

/**
 * Neither the client secret nor any issued access token may appear in an error message,
 * a log line or an emitted event payload (as JSON, the way a log pipeline sees it).
 */
export function expectNoSecrets(
  secrets: { clientSecret: string; tokens: readonly string[] },
  reports: readonly Report[],
  results: readonly CallResult[],
): void {
  const haystack = [
    ...reports.flatMap((r) => [...r.events, ...r.logLines]),
    ...results.flatMap((r) => (r.error ? [r.error.message, JSON.stringify(r.error)] : [])),
  ].join('\n');
  expect(haystack.length).toBeGreaterThan(0);
  expect(haystack.includes(secrets.clientSecret)).toBe(false);
  for (const token of secrets.tokens) {
    expect(haystack.includes(token)).toBe(false);
  }
}

import { describe, expect, it } from 'vitest';
import type { FlakyApiStats } from '../../../src/apps/flaky-api.js';
import type { IdpStats } from '../../../src/apps/idp.js';
import type { DemoTarget } from '../../../src/loadtest/target.js';
import { run } from './support.js';

/** The API counts resets as "reset"; the client sees them as ECONNRESET. */
function asApiSees(outcomes: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(outcomes).map(([k, v]) => [k === 'ECONNRESET' ? 'reset' : k, v]),
  );
}

describe('every attempt is accounted for', () => {
  it('reports exactly the requests the flaky API logged, by status, and the token requests the IdP served', async () => {
    const targets = new Map<string, DemoTarget>();
    // A storm has every kind of fault: 5xx, 429, 401 on valid tokens, connection resets.
    const report = await run(
      [
        '--compare',
        'none,retry-no-budget,naive',
        '--profile',
        '{"name":"mixed","errorRate":0.15,"rateLimitRate":0.05,"unauthorizedRate":0.05,"resetRate":0.03,"retryAfterSeconds":0}',
        '--rate',
        '100',
        '--calls',
        '200',
        '--seed',
        '3',
        // Naive waits 200 ms before a retry; timeouts keep their 2 s floor.
        '--time-factor',
        '0.02',
      ],
      { onDemoTarget: (target, policy) => targets.set(policy, target) },
    );
    // The targets are closed after each run; their counters keep the final values.
    const api = new Map<string, FlakyApiStats>();
    const idp = new Map<string, IdpStats>();
    for (const [policy, target] of targets) {
      api.set(policy, target.api.stats());
      idp.set(policy, target.idp.stats());
    }

    expect(report.runs.map((r) => r.summary.policy)).toEqual(['none', 'retry-no-budget', 'naive']);
    for (const { summary } of report.runs) {
      const log = api.get(summary.policy)!;
      expect(summary.calls).toBe(200);
      const worker = log.quota.byClient['loadtest-worker'];
      expect(summary.api).toEqual({
        requests: log.requests,
        byStatus: log.byStatus,
        quotaPerSecond: 0,
        accepted: worker?.accepted ?? 0,
        quotaRateLimited: 0,
        slow: 0,
      });
      // A timed-out attempt may or may not have reached the API (and the API may still have
      // answered it): those are the only attempts whose fate the client cannot know. On a
      // quiet machine there are none and the counts are equal, status by status.
      const timeouts = summary.attemptOutcomes.timeout ?? 0;
      const seen = asApiSees(summary.attemptOutcomes);
      delete seen.timeout;
      expect(log.requests).toBeLessThanOrEqual(summary.attempts);
      expect(log.requests).toBeGreaterThanOrEqual(summary.attempts - timeouts);
      for (const [status, count] of Object.entries(seen)) {
        expect(log.byStatus[status] ?? 0, `status ${status}`).toBeGreaterThanOrEqual(count);
      }
      const unexplained = Object.entries(log.byStatus).reduce(
        (sum, [status, count]) => sum + count - (seen[status] ?? 0),
        0,
      );
      expect(unexplained).toBeLessThanOrEqual(timeouts);
      if (timeouts === 0) expect(seen).toEqual(log.byStatus);
      // Without a breaker every re-send is a wire attempt: attempts = calls + retries.
      expect(summary.attempts).toBe(summary.calls + summary.retries);
      expect(summary.tokenRequests.idp).toBe(idp.get(summary.policy)!.tokenRequests);
      expect(summary.tokenRequests.client).toBe(summary.tokenRequests.idp);
      // The series add up to the totals.
      const attemptsInSeries = Object.values(
        report.runs.find((r) => r.summary === summary)!.series.attemptsPerSecond,
      )
        .flat()
        .reduce((a, b) => a + b, 0);
      const bucketMs = report.runs.find((r) => r.summary === summary)!.series.bucketMs;
      expect(Math.round((attemptsInSeries * bucketMs) / 1000)).toBe(summary.attempts);
    }
    const [none, retry, naive] = report.runs.map((r) => r.summary);
    expect(none!.retries).toBe(0);
    expect(retry!.retries).toBeGreaterThan(0);
    expect(Object.keys(retry!.retriesByReason)).toEqual(
      expect.arrayContaining(['503', '429', 'ECONNRESET']),
    );
    // The naive pattern fetches a new token before every 401 re-send (plus the first one).
    expect(naive!.retriesByReason['401']).toBeGreaterThan(0);
    expect(naive!.tokenRequests.idp).toBeGreaterThanOrEqual(naive!.retriesByReason['401']! + 1);
  });
});

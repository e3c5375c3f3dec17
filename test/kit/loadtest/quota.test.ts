import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlakyApiStats } from '../../../src/apps/flaky-api.js';
import { terminalReport } from '../../../src/loadtest/report/terminal.js';
import type { DemoTarget } from '../../../src/loadtest/target.js';
import { type RedisInstance, startRedis } from '../../helpers/redis.js';
import { configFrom, run } from './support.js';

let redis: RedisInstance;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const QUOTA = 40; // requests per second per client id, at the API
const CALLS = 120; // in 1 s: three times the quota

describe('comparing policies against an API with a real per-client quota', () => {
  it('worker processes sharing a fleet quota in Redis get far fewer 429s from the API than naive retries', async () => {
    const targets = new Map<string, DemoTarget>();
    const report = await run(
      [
        '--compare',
        'naive,standard,standard+quota',
        '--profile',
        JSON.stringify({ name: 'quota', quotaPerSecond: QUOTA }),
        '--workers',
        '2',
        '--redis',
        redis.url,
        '--rate',
        String(CALLS),
        '--calls',
        String(CALLS),
        '--seed',
        '3',
        '--time-factor',
        '0.05',
      ],
      { onDemoTarget: (target, policy) => targets.set(policy, target) },
    );
    const table = terminalReport(report);
    const byPolicy = new Map(report.runs.map((r) => [r.summary.policy, r.summary]));
    const apiStats = new Map<string, FlakyApiStats>(
      [...targets].map(([policy, target]) => [policy, target.api.stats()]),
    );
    const naive = byPolicy.get('naive')!;
    const quota = byPolicy.get('standard+quota')!;

    for (const summary of byPolicy.values()) {
      expect(summary.calls + summary.aborted).toBe(CALLS);
      expect(summary.succeeded).toBeLessThanOrEqual(summary.calls);
      // The report's API figures are the API's own counters.
      const stats = apiStats.get(summary.policy)!;
      expect(summary.api!.byStatus).toEqual(stats.byStatus);
      expect(summary.api!.accepted).toBe(stats.quota.byClient['loadtest-worker']!.accepted);
      expect(summary.api!.quotaRateLimited).toBe(
        stats.quota.byClient['loadtest-worker']!.rateLimited,
      );
    }
    const naive429 = naive.api!.byStatus['429'] ?? 0;
    const quota429 = quota.api!.byStatus['429'] ?? 0;
    // Naive offers three times the quota and retries every 429, up to three times.
    expect(naive429, table).toBeGreaterThanOrEqual(20);
    expect(quota429 * 5, table).toBeLessThanOrEqual(naive429);
    // What the fleet quota could not admit in time failed in the client, never sent.
    for (const [outcome] of Object.entries(quota.callOutcomes)) {
      expect(['200', 'rate_limited', '429'], table).toContain(outcome);
    }
    expect(table).toMatch(/API accepted \(req\/s\)/);
    expect(table).toMatch(/API 429s answered/);
  }, 90_000);
});

describe('the standard+quota policy', () => {
  it("takes the API's limit from the demo profile, or from --quota-limit", () => {
    expect(
      configFrom(['--compare', 'standard,standard+quota', '--profile', 'quota']).quotaLimit,
    ).toBe(200);
    expect(
      configFrom(['--policy', 'standard+quota', '--profile', 'healthy', '--quota-limit', '25'])
        .quotaLimit,
    ).toBe(25);
  });

  it('is refused without a limit to keep to, and --quota-limit without the policy', () => {
    expect(() => configFrom(['--policy', 'standard+quota', '--profile', 'healthy'])).toThrow(
      /--quota-limit/,
    );
    expect(() => configFrom(['--policy', 'standard', '--quota-limit', '10'])).toThrow(
      /standard\+quota/,
    );
  });

  it('names its report files without a "+"', () => {
    const config = configFrom(['--compare', 'naive,standard+quota', '--profile', 'quota']);
    expect(config.reportName).toMatch(/-naive-standard-quota$/);
  });
});

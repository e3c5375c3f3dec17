import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlakyApiStats } from '../../../src/apps/flaky-api.js';
import type { DemoTarget } from '../../../src/loadtest/target.js';
import { type RedisInstance, startRedis } from '../../helpers/redis.js';
import { run } from './support.js';

let redis: RedisInstance;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('worker processes sharing Redis', () => {
  it('split the load, and their measurements add up to what the API logged; the SDK shares one token where naive workers each fetch their own', async () => {
    const targets = new Map<string, DemoTarget>();
    const report = await run(
      [
        '--compare',
        'standard,naive',
        '--workers',
        '2',
        '--redis',
        redis.url,
        '--profile',
        'healthy',
        '--rate',
        '60',
        '--calls',
        '90',
        '--seed',
        '4',
        '--time-factor',
        '0.05',
      ],
      { onDemoTarget: (target, policy) => targets.set(policy, target) },
    );
    const logs = new Map<string, FlakyApiStats>(
      [...targets].map(([policy, target]) => [policy, target.api.stats()]),
    );
    for (const { summary } of report.runs) {
      expect(summary.calls + summary.aborted).toBe(90);
      const log = logs.get(summary.policy)!;
      const timeouts = summary.attemptOutcomes.timeout ?? 0;
      expect(log.requests).toBeLessThanOrEqual(summary.attempts);
      expect(log.requests).toBeGreaterThanOrEqual(summary.attempts - timeouts);
    }
    const [standard, naive] = report.runs.map((r) => r.summary);
    expect(standard!.tokenRequests.idp).toBe(1);
    expect(naive!.tokenRequests.idp).toBeGreaterThanOrEqual(2);
    expect(logs.get('standard')!.distinctTokens).toBe(1);
  }, 60_000);
});

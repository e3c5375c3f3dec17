/**
 * A revocation under a steady load of 4 instances × 20 concurrent callers, with an API that
 * takes 50 ms to answer: the calls in flight with the revoked token get their 401s spread
 * over that time, most of them after their process already invalidated the token. Each
 * process must make one store invalidation, not one per 401 (MONITOR on a private Redis).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVALIDATE_SCRIPT } from '../../packages/redis/src/scripts.js';
import { usePrivateRedis } from '../helpers/redis.js';
import { INSTANCES, redisStoreOf, useFleetHarness } from './fleet-scenarios.js';
import { monitorScripts, type ScriptMonitor } from './script-monitor.js';

const CALLERS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const redis = usePrivateRedis();
let scripts: ScriptMonitor;
beforeAll(async () => {
  scripts = await monitorScripts(redis.url);
});
afterAll(async () => {
  await scripts?.close();
});

describe('a revocation under load', () => {
  const harness = useFleetHarness(redisStoreOf(redis), { apiDelayMs: 50 });

  it('costs each process one store invalidation, however many of its calls get a 401', async () => {
    const fleet = await harness.start();
    harness.keep(await fleet.burst(1));
    await fleet.resetCounts();
    // The new token takes a while: 401s keep arriving while it is being fetched.
    harness.stack().setFault({ kind: 'delay', delayMs: 300 });
    const before = harness.stack().tokenRequests();
    const running = fleet.loop(2500, CALLERS, 0);
    await sleep(1000);
    scripts.reset();
    await harness.stack().idp.revokeAll();
    const results = harness.keep(await running);
    await scripts.settle();
    const invalidations = scripts.count(INVALIDATE_SCRIPT);
    const reports = await fleet.report();
    const unauthorized = reports.reduce((n, r) => n + (r.counts.reauthorize ?? 0), 0);
    console.info(`${unauthorized} 401s, ${invalidations} store invalidations (4 processes)`);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(unauthorized).toBeGreaterThan(INSTANCES * 2);
    expect(invalidations).toBeLessThanOrEqual(INSTANCES);
    expect(harness.stack().tokenRequests() - before).toBe(1);
  });
});

/**
 * Redis killed and restarted under a fleet of 4 instances, with the store breaker's probe
 * far away (60 s): the store's reconnection alone must tell the instances that Redis is
 * back, so that the next revocation costs one token request for the fleet again, not one
 * per instance.
 */
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../helpers/redis.js';
import type { Report } from './fixtures/fleet-worker.js';
import { INSTANCES, redisStoreOf, useFleetHarness } from './fleet-scenarios.js';

const LONG_BREAK_MS = 60_000;
/** ioredis reconnects every ≤ 2 s (see redis-options.ts): two attempts and some slack. */
const RECONNECT_MS = 6000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The fingerprint of the token the instance uses now (its last `tokenInUse` event). */
function tokenInUse(report: Report): string | undefined {
  const inUse = report.events.filter((e) => e.includes('"event":"tokenInUse"'));
  return /"fingerprint":"([^"]+)"/.exec(inUse[inUse.length - 1] ?? '')?.[1];
}

/** The instance's last `storeState` event says up. */
function storeIsUp(report: Report): boolean {
  const states = report.events.filter((e) => e.includes('"event":"storeState"'));
  return states[states.length - 1]?.includes('"up":true') ?? false;
}

const redis = usePrivateRedis();

describe('a fleet whose Redis restarts', () => {
  const harness = useFleetHarness(redisStoreOf(redis));

  it('shares tokens again once the store has reconnected, long before the breaker would probe', async () => {
    const fleet = await harness.start({ storeBreakMs: LONG_BREAK_MS });
    harness.keep(await fleet.burst(1));
    await redis.kill();
    const beforeOutage = harness.stack().tokenRequests();
    await harness.stack().idp.revokeAll();
    harness.keep(await fleet.burst(5)); // every instance finds Redis gone and fetches alone
    const alone = harness.stack().tokenRequests() - beforeOutage;
    expect(alone).toBeLessThanOrEqual(INSTANCES);

    await redis.restart();
    // Until every instance reports the store up again and uses the one token the store
    // holds (or give up: the assertions say why). On a loaded machine an instance may
    // report the store up a moment before it adopts the store's token; revoking in that
    // moment would test the timing, not the sharing.
    const giveUpAt = performance.now() + RECONNECT_MS;
    const converged = (reports: Report[]) =>
      reports.every(storeIsUp) && new Set(reports.map(tokenInUse)).size === 1;
    while (performance.now() < giveUpAt && !converged(await fleet.report())) {
      await sleep(100);
    }
    const reports = await fleet.report();
    expect(reports.map(storeIsUp)).toEqual(reports.map(() => true));
    expect(new Set(reports.map(tokenInUse)).size, 'tokens in use across the fleet').toBe(1);
    const afterRestart = harness.stack().tokenRequests();
    await harness.stack().idp.revokeAll();
    const results = harness.keep(await fleet.burst(20));
    const requests = harness.stack().tokenRequests() - afterRestart;
    console.info(`revocation after a Redis restart: ${requests} token request(s) for 4 instances`);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(requests).toBe(1);
  }, 60_000);
});

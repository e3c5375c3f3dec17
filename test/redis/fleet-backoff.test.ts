/**
 * A token endpoint that keeps failing (503 without Retry-After) under a fleet of 4
 * instances calling in a loop: the backoff must grow for the fleet as one, whichever
 * instance holds the lease each time, so the IdP sees no more requests than one instance
 * alone would make.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKOFF_SCRIPT } from '../../packages/redis/src/scripts.js';
import { usePrivateRedis } from '../helpers/redis.js';
import { redisStoreOf, useFleetHarness } from './fleet-scenarios.js';
import { monitorScripts, type ScriptMonitor } from './script-monitor.js';

const BACKOFF_MIN_MS = 200;
const LOOP_MS = 6000;

/**
 * The most requests one instance alone could make in `windowMs` when its backoff doubles
 * from `minMs` with the shortest jitter (half the delay): one at once, then one after each
 * delay that still fits.
 */
function mostRequestsOfOneInstance(windowMs: number, minMs: number): number {
  let requests = 1;
  let elapsed = 0;
  for (let step = 0; ; step++) {
    elapsed += (minMs * 2 ** step) / 2;
    if (elapsed > windowMs) return requests;
    requests += 1;
  }
}

const redis = usePrivateRedis();
let scripts: ScriptMonitor;
beforeAll(async () => {
  scripts = await monitorScripts(redis.url);
});
afterAll(async () => {
  await scripts?.close();
});

describe('a token endpoint that keeps failing', () => {
  const harness = useFleetHarness(redisStoreOf(redis));

  it('sees the backoff of one instance from a fleet of 4: the failure count is the fleet’s, not the lease holder’s', async () => {
    const fleet = await harness.start({ backoffMinMs: BACKOFF_MIN_MS, backoffMaxMs: 60_000 });
    harness.stack().setFault({ kind: 'status', status: 503 }); // no Retry-After
    const before = harness.stack().tokenRequests();
    scripts.reset();
    const results = harness.keep(await fleet.loop(LOOP_MS, 2, 20));
    const requests = harness.stack().tokenRequests() - before;
    console.info(`token requests in ${LOOP_MS} ms of 503s, 4 instances: ${requests}`);
    expect(results.every((r) => r.error?.reason === '503')).toBe(true);
    expect(requests).toBeGreaterThanOrEqual(3);
    expect(requests).toBeLessThanOrEqual(mostRequestsOfOneInstance(LOOP_MS, BACKOFF_MIN_MS));
    // Every failed request started one fleet-wide backoff, written by its lease holder.
    await scripts.settle();
    expect(scripts.count(BACKOFF_SCRIPT)).toBe(requests);
  });
});

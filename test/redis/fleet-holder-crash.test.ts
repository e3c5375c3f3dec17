/**
 * The instance holding the refresh lease crashes in the middle of its token request. The
 * others never see a token published; when the lease expires one of them takes over.
 */
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../helpers/redis.js';
import { INSTANCES, redisStoreOf, useFleetHarness } from './fleet-scenarios.js';

const LEASE_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const redis = usePrivateRedis();

describe('a lease holder that crashes', () => {
  const harness = useFleetHarness(redisStoreOf(redis));

  it('is replaced when its lease expires: every surviving call succeeds, one more token request', async () => {
    const fleet = await harness.start({
      leaseMs: LEASE_MS,
      tokenEndpointTimeoutMs: LEASE_MS - 500,
    });
    harness.stack().setFault({ kind: 'delay', delayMs: 60_000 }); // the holder's request hangs
    const before = harness.stack().tokenRequests();
    const calls = fleet.burstEach(10);
    for (const call of calls) call.catch(() => {}); // the holder's own calls die with it
    // Find the lease holder while everybody waits.
    let holder = -1;
    for (let i = 0; i < 100 && holder < 0; i++) {
      await sleep(50);
      const reports = await fleet.reportAlive();
      holder = reports.find((r) => (r.report.counts['lease.won'] ?? 0) > 0)?.index ?? -1;
    }
    expect(holder).toBeGreaterThanOrEqual(0);
    // Crash it only once its token request is on the wire (and hanging at the endpoint).
    for (let i = 0; i < 100 && harness.stack().tokenRequests() === before; i++) await sleep(20);
    await fleet.kill(holder);
    harness.stack().setFault({ kind: 'none' });
    const survivors = await Promise.all(calls.filter((_, i) => i !== holder));
    const results = harness.keep(survivors.map((r) => r));
    expect(results).toHaveLength((INSTANCES - 1) * 10);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // The crashed holder's request, then exactly one by the instance that took over.
    expect(harness.stack().tokenRequests() - before).toBe(2);
  });
});

/**
 * Redis killed, frozen (SIGSTOP) and back, while a fleet of 4 instances keeps calling.
 * The store uses its defaults (200 ms command timeout) and a short breaker (300 ms) so
 * recovery is seen quickly.
 */
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../helpers/redis.js';
import { type Fleet, lastFingerprints } from './fleet.js';
import { INSTANCES, useFleetHarness } from './fleet-scenarios.js';

const COMMAND_TIMEOUT_MS = 200; // the store's default
/** What the token manager waits at most for one store operation (see RedisTokenStore). */
const OPERATION_TIMEOUT_MS = 2 * COMMAND_TIMEOUT_MS;
const FREEZE_MS = 5000;
const STORE_BREAK_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const redis = usePrivateRedis();

async function converged(fleet: Fleet, timeoutMs: number): Promise<string[]> {
  const giveUpAt = Date.now() + timeoutMs;
  let fingerprints: string[] = [];
  while (Date.now() < giveUpAt) {
    await fleet.burst(1); // a call reaches the hot path; recovery runs from the breaker probe
    fingerprints = lastFingerprints(await fleet.report());
    if (new Set(fingerprints).size === 1) return fingerprints;
    await sleep(100);
  }
  const reports = await fleet.report();
  console.info(
    JSON.stringify(
      reports.map((r) =>
        r.events.filter((e) => /storeState|tokenInUse/.test(e)).map((e) => e.slice(0, 90)),
      ),
    ),
  );
  return fingerprints;
}

describe('a fleet whose Redis goes away', () => {
  const harness = useFleetHarness((keyPrefix) => ({ kind: 'redis', url: redis.url, keyPrefix }));
  const start = () => harness.start({ storeBreakMs: STORE_BREAK_MS });

  it('loses no call when Redis is killed mid-run and the token is revoked meanwhile, then converges on one token', async () => {
    const fleet = await start();
    harness.keep(await fleet.burst(1));
    const before = harness.stack().tokenRequests();
    const running = fleet.loop(3000, 5);
    await sleep(500);
    await redis.kill();
    await sleep(300);
    await harness.stack().idp.revokeAll(); // every instance must get a new token, alone
    await sleep(1000);
    await redis.restart();
    const results = harness.keep(await running);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // Working alone costs at most one token request per instance.
    expect(harness.stack().tokenRequests() - before).toBeLessThanOrEqual(INSTANCES);
    // The instances did notice: the store went down and came back for each of them.
    const reports = await fleet.report();
    expect(reports.every((r) => (r.counts.storeState ?? 0) >= 1)).toBe(true);
    const fingerprints = await converged(fleet, 10_000);
    expect(new Set(fingerprints).size).toBe(1);
  });

  it('loses no call when Redis is frozen with SIGSTOP, and no call waits for the thaw', async () => {
    const fleet = await start();
    harness.keep(await fleet.burst(1));
    const before = harness.stack().tokenRequests();
    const running = fleet.loop(FREEZE_MS + 1000, 5);
    await sleep(500);
    await redis.freeze();
    await sleep(300);
    await harness.stack().idp.revokeAll(); // every instance needs the store, which hangs
    await sleep(FREEZE_MS - 300);
    await redis.thaw();
    const results = harness.keep(await running);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(harness.stack().tokenRequests() - before).toBeLessThanOrEqual(INSTANCES);
    // The slowest call during the freeze: a 401, one store operation that times out, a
    // token request and the re-sent call, all on loopback. The bound is 10x the store's
    // operation timeout (the command timeout plus the wait for a ready connection),
    // generous for a loaded 2-core machine, and still shorter than the freeze: a call that
    // waited on the frozen Redis would take longer than it.
    const bound = 10 * OPERATION_TIMEOUT_MS;
    expect(bound).toBeLessThan(FREEZE_MS);
    const slowest = Math.max(...results.map((r) => r.durationMs));
    console.info(
      `slowest call while Redis was frozen for ${FREEZE_MS} ms: ${Math.round(slowest)} ms`,
    );
    expect(slowest).toBeLessThan(bound);
    const fingerprints = await converged(fleet, 10_000);
    expect(new Set(fingerprints).size).toBe(1);
  });
});

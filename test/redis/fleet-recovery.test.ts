/**
 * Redis goes away across a token rotation (12 s tokens: soft window after ~5.4 s, hard limit
 * after ~10.8 s) while 4 instances keep calling. While it is away each instance refreshes
 * alone (one token request each, which is bounded). What these tests pin down is what
 * happens once Redis is back: the fleet shares one token again at once, and keeps the newest
 * token it has rather than one the store kept from before the outage.
 */
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../helpers/redis.js';
import { lastFingerprints } from './fleet.js';
import { INSTANCES, redisStoreOf, useFleetHarness } from './fleet-scenarios.js';

const TTL_SECONDS = 12;
/** lifetime − hard skew (1.2 s) − soft window (5.4 s): when the first instance refreshes. */
const SOFT_AFTER_MS = (TTL_SECONDS - 1.2 - 5.4) * 1000;
/** lifetime − hard skew: the token is never sent after this. */
const HARD_AFTER_MS = (TTL_SECONDS - 1.2) * 1000;
/** Longer than any of these tests: only a recovery hint, never the breaker's probe timer, can bring the store back. */
const LONG_BREAK_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Each test runs up to ~1.5 token lifetimes of calls, after starting the fleet. */
const TEST_TIMEOUT_MS = 60_000;

const redis = usePrivateRedis();

describe('a fleet whose Redis comes back across a token rotation', {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  const harness = useFleetHarness(redisStoreOf(redis), { ttlSeconds: TTL_SECONDS });

  /**
   * Wait until the IdP has seen one more token request per instance since `before`: each
   * instance refreshed alone while Redis was away. What comes after is counted apart.
   */
  async function eachRefreshedAlone(before: number): Promise<number> {
    const giveUpAt = performance.now() + HARD_AFTER_MS;
    while (harness.stack().tokenRequests() - before < INSTANCES && performance.now() < giveUpAt) {
      await sleep(50);
    }
    return harness.stack().tokenRequests();
  }

  it('shares one refresh again as soon as Redis is back after a kill (the reconnection is the hint)', async () => {
    const fleet = await harness.start({ storeBreakMs: LONG_BREAK_MS });
    harness.keep(await fleet.burst(2)); // cold start: the token of the whole fleet
    const minted = harness.stack().tokenRequests();
    await redis.kill();
    const running = fleet.loop(SOFT_AFTER_MS + HARD_AFTER_MS - 1000, 2, 20);
    // Everyone enters the soft window, finds Redis gone and refreshes alone.
    const alone = await eachRefreshedAlone(minted);
    await redis.restart(); // empty, as after a crash without persistence
    const results = harness.keep(await running);
    const afterRestart = harness.stack().tokenRequests() - alone;
    console.info(`kill across a rotation: ${afterRestart} token request(s) after Redis was back`);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // The next rotation, after Redis is back, is one lease holder's again.
    expect(afterRestart).toBe(1);
    expect(new Set(lastFingerprints(await fleet.report())).size).toBe(1);
  });

  it('shares one refresh again after a freeze, without any reconnection (the refresh is the probe)', async () => {
    const fleet = await harness.start({ storeBreakMs: LONG_BREAK_MS });
    harness.keep(await fleet.burst(2));
    const minted = harness.stack().tokenRequests();
    await redis.freeze();
    const running = fleet.loop(SOFT_AFTER_MS + HARD_AFTER_MS + 1000, 2, 20);
    // The soft refreshes wait out the store's timeout, then refresh alone.
    const alone = await eachRefreshedAlone(minted);
    await redis.thaw(); // the connections never dropped: no 'ready' to hint at anything
    const results = harness.keep(await running);
    const afterThaw = harness.stack().tokenRequests() - alone;
    console.info(`freeze across a rotation: ${afterThaw} token request(s) after Redis was back`);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(afterThaw).toBe(1);
  });

  it('keeps its fresh tokens, not the older one Redis kept through a freeze, and fetches nothing more', async () => {
    const fleet = await harness.start({ storeBreakMs: 300 });
    harness.keep(await fleet.burst(2)); // the old token: in Redis, ~10.8 s to live
    const minted = harness.stack().tokenRequests();
    const startedAt = performance.now();
    await redis.freeze();
    const running = fleet.loop(HARD_AFTER_MS + 1000, 2, 20);
    const alone = await eachRefreshedAlone(minted);
    // Back while the old token has a few seconds to live: it is in its soft window already.
    await redis.thaw();
    const left = HARD_AFTER_MS - (performance.now() - startedAt);
    console.info(`thawed with ${Math.round(left)} ms left to the old token`);
    const results = harness.keep(await running);
    const afterThaw = harness.stack().tokenRequests() - alone;
    console.info(`stale token in Redis after a freeze: ${afterThaw} token request(s) after thaw`);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // Nobody adopted the old token, so nobody had to replace it at once.
    expect(afterThaw).toBe(0);
    // The fleet converged on the token that expires last, and Redis holds it.
    const fingerprints = lastFingerprints(await fleet.report());
    expect(new Set(fingerprints).size).toBe(1);
    const keys = (await redis.cli('--scan', '--pattern', '*tok:*')).trim().split('\n');
    const records = await Promise.all(keys.filter(Boolean).map((key) => redis.cli('GET', key)));
    expect(records.some((record) => record.startsWith(`${fingerprints[0]}|`))).toBe(true);
  });
});

/**
 * Short-lived tokens (12 s at the IdP): the soft window opens ~5.4 s after a token is
 * minted, the hard limit is at 10.8 s. One lease holder of the whole fleet refreshes; nobody
 * waits for it. (The soft window is wide enough that a refresh finishes inside it even on
 * a loaded 2-core machine.)
 */
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../helpers/redis.js';
import { redisStoreOf, useFleetHarness } from './fleet-scenarios.js';

const TTL_SECONDS = 12;
/** lifetime − hard skew (10 % = 1.2 s) − soft window (min(60 s, half of the rest) = 5.4 s) */
const MIN_SECONDS_BETWEEN_ROTATIONS = TTL_SECONDS - 1.2 - 5.4;

const redis = usePrivateRedis();

describe('refresh ahead of expiry with short-lived tokens', () => {
  const harness = useFleetHarness(redisStoreOf(redis), { ttlSeconds: TTL_SECONDS });

  it('makes one token request per rotation for the whole fleet and no call waits for it', async () => {
    const fleet = await harness.start();
    harness.keep(await fleet.burst(5)); // cold start: 1 request
    await fleet.resetCounts();
    const before = harness.stack().tokenRequests();
    const loopMs = 13_000;
    const results = harness.keep(await fleet.loop(loopMs, 2, 20));
    const requests = harness.stack().tokenRequests() - before;
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // At most one rotation per (lifetime − skew − soft window); per-instance refresh would
    // make about 4x as many.
    const rotations = Math.ceil(loopMs / 1000 / MIN_SECONDS_BETWEEN_ROTATIONS);
    expect(requests).toBeGreaterThanOrEqual(2);
    expect(requests).toBeLessThanOrEqual(rotations);
    const reports = await fleet.report();
    const sum = (key: string) => reports.reduce((n, r) => n + (r.counts[key] ?? 0), 0);
    expect(sum('fetchEnd.success')).toBe(requests);
    // Nobody fell through to the miss path: every call was served from L1.
    expect(sum('cacheLookup.local.miss')).toBe(0);
    expect(sum('cacheLookup.local.coalesced')).toBe(0);
  });

  it('keeps serving a still-valid token while the token endpoint answers 503, and the fleet backs off as one', async () => {
    const fleet = await harness.start();
    harness.keep(await fleet.burst(2)); // token minted now; soft window in ~5.4 s, hard limit ~10.8 s
    harness.stack().setFault({ kind: 'status', status: 503, retryAfterSeconds: 30 });
    const before = harness.stack().tokenRequests();
    const results = harness.keep(await fleet.loop(7500, 2, 20));
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // One lease holder tried once; its backoff (Retry-After 30 s) held the whole fleet.
    expect(harness.stack().tokenRequests() - before).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import {
  InvalidConfigurationError,
  isRateLimitedError,
  RateLimitedError,
} from '../../../packages/steadfast/src/index.js';
import type {
  QuotaFallbackEvent,
  QuotaLeaseEvent,
} from '../../../packages/steadfast/src/pipeline/events.js';
import { memoryQuotaStore } from '../../../packages/steadfast/src/strategies/fleet-quota/memory-store.js';
import type {
  QuotaLease,
  QuotaLeaseRequest,
  QuotaStore,
} from '../../../packages/steadfast/src/strategies/fleet-quota/store.js';
import { rejectionOf, useHarness } from '../support.js';

const h = useHarness();

/** Keep `callers` calls going until `ms` have passed; resolves the failures seen. */
async function drive(
  call: () => Promise<unknown>,
  callers: number,
  ms: number,
): Promise<unknown[]> {
  const failures: unknown[] = [];
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        await call().catch((error: unknown) => failures.push(error));
      }
    }),
  );
  return failures;
}

/** The most requests the server got in any window of `windowMs` (sliding by 10 ms). */
function busiestWindow(times: number[], windowMs: number): number {
  let most = 0;
  for (const start of times) {
    most = Math.max(most, times.filter((t) => t >= start && t < start + windowMs).length);
  }
  return most;
}

/**
 * The most grants a window may hold at `limit` per window with a burst of 1: the limit, the
 * burst, and one more for a permit used up to its grace late (5 ms or one interval).
 */
const allowed = (limit: number) => limit + 1 + 1;

/**
 * When the quota let each attempt go (`performance.now()`), grants only. Measured where the
 * quota decides: the loopback server shares this process's event loop, so its arrival times
 * also carry the loop's stalls (the multi-process tests in test/redis measure at the API).
 */
function grantTimes(client: ReturnType<typeof h.client>): number[] {
  const times: number[] = [];
  client.events.rateLimit.event((e) => {
    if (e.limiter === 'fleet_quota' && e.rejected === undefined) times.push(performance.now());
  });
  return times;
}

let keys = 0;
const uniqueKey = () => `quota-test-${process.pid}-${++keys}`;

describe('fleet quota (in-process store)', () => {
  it('keeps many concurrent callers within the limit, spread over the interval', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      quota: { key: uniqueKey(), limit: 50, intervalMs: 1000, store: memoryQuotaStore() },
      totalTimeoutMs: 5000,
    });
    const times = grantTimes(client);
    const started = performance.now();
    const failures = await drive(() => client.fetch('/q'), 20, 2000);
    const elapsed = performance.now() - started;

    expect(failures).toEqual([]); // every caller waited for its slot
    expect(server.requests).toHaveLength(times.length);
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(allowed(50));
    expect(busiestWindow(times, 200)).toBeLessThanOrEqual(allowed(10)); // spread evenly
    expect(times.length).toBeGreaterThanOrEqual(Math.floor((elapsed / 1000) * 50 * 0.8));
  });

  it('shares one quota between the clients of a process that use the same key', async () => {
    const server = await h.server();
    const key = uniqueKey();
    const a = h.client(server.url, { quota: { key, limit: 40 } });
    const b = h.client(server.url, { name: 'other', quota: { key, limit: 40 } });
    const timesA = grantTimes(a);
    const timesB = grantTimes(b);
    await Promise.all([drive(() => a.fetch('/a'), 10, 1500), drive(() => b.fetch('/b'), 10, 1500)]);
    const times = [...timesA, ...timesB].sort((x, y) => x - y);
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(allowed(40));
    const fromA = server.requests.filter((r) => r.path === '/a').length;
    const fromB = server.requests.length - fromA;
    expect(Math.min(fromA, fromB)).toBeGreaterThan(10); // both got a share
  });

  it('leases permits in batches: far fewer store commands than calls at 100 calls/s', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      quota: { key: uniqueKey(), limit: 1000, store: memoryQuotaStore() },
    });
    const leases: QuotaLeaseEvent[] = [];
    client.events.quotaLease.event((e) => leases.push(e));
    // 100 calls per second for 3 s, one every 10 ms; the last 2 s are the steady state.
    const calls: Promise<unknown>[] = [];
    let steadyFrom = 0;
    for (let i = 0; i < 300; i++) {
      if (i === 100) steadyFrom = leases.length;
      calls.push(client.fetch('/paced'));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(calls);
    expect(server.requests).toHaveLength(300);
    expect(leases.every((l) => l.result === 'ok' && l.source === 'memory')).toBe(true);
    expect(leases.length - steadyFrom).toBeLessThanOrEqual(200 / 20);
  });

  it('refuses at once an attempt whose slot comes after its deadline, with the wait it needed', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      quota: { key: uniqueKey(), limit: 1, intervalMs: 2000 },
    });
    await client.fetch('/first');
    const started = performance.now();
    const error = (await rejectionOf(
      client.fetch('/late', { timeoutMs: 100 }),
    )) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.limiter).toBe('fleet_quota');
    expect(error.reason).toBe('deadline');
    expect(error.waitMs).toBeGreaterThan(1000);
    expect(performance.now() - started).toBeLessThan(100);
    expect(server.requests).toHaveLength(1);
  });

  it('falls back to its local share when the store fails, and rejoins when it is back', async () => {
    const server = await h.server();
    const real = memoryQuotaStore();
    let down = false;
    let commands = 0;
    // A store whose backend goes away and comes back, as Redis does when it restarts.
    const flaky: QuotaStore = {
      kind: 'redis',
      operationTimeoutMs: 200,
      lease(key: string, request: QuotaLeaseRequest): Promise<QuotaLease> {
        commands++;
        return down ? Promise.reject(new Error('Connection is closed.')) : real.lease(key, request);
      },
      attach() {},
      async detach() {},
    };
    const client = h.client(server.url, {
      quota: { key: uniqueKey(), limit: 40, store: flaky, fallbackLimit: 10 },
      totalTimeoutMs: 5000,
    });
    const fallbacks: QuotaFallbackEvent[] = [];
    client.events.quotaFallback.event((e) => fallbacks.push(e));
    const times = grantTimes(client);

    expect(await drive(() => client.fetch('/up'), 5, 500)).toEqual([]);
    down = true;
    const before = server.requests.length;
    const failures = await drive(() => client.fetch('/down'), 5, 2000);
    expect(failures).toEqual([]); // no call failed because the store did
    // The store last said the fleet is this one instance: its share is the whole limit, and
    // it starts after the permits the instance still held.
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(allowed(40));
    expect(server.requests.length).toBeGreaterThan(before);
    expect(fallbacks[0]).toMatchObject({ active: true, fleetSize: 1, localLimit: 40 });
    const commandsDuringOutage = commands;

    down = false;
    await drive(() => client.fetch('/back'), 5, 1500);
    expect(fallbacks.at(-1)).toMatchObject({ active: false });
    expect(commands).toBeGreaterThan(commandsDuringOutage);
  });

  it('uses fallbackLimit while the store has never answered', async () => {
    const server = await h.server();
    const dead: QuotaStore = {
      kind: 'redis',
      operationTimeoutMs: 200,
      lease: () => Promise.reject(new Error('ECONNREFUSED')),
      attach() {},
      async detach() {},
    };
    const client = h.client(server.url, {
      quota: { key: uniqueKey(), limit: 1000, store: dead, fallbackLimit: 20 },
      totalTimeoutMs: 5000,
    });
    const times = grantTimes(client);
    const failures = await drive(() => client.fetch('/x'), 10, 1500);
    expect(failures).toEqual([]);
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(allowed(20));
    expect(times.length).toBeGreaterThanOrEqual(20);
  });

  it('refuses a weight above the limit', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      quota: { key: uniqueKey(), limit: 5, weight: () => 6 },
    });
    const error = await rejectionOf(client.fetch('/heavy'));
    expect(isRateLimitedError(error)).toBe(true);
    expect((error as RateLimitedError).reason).toBe('weight_exceeds_capacity');
  });

  it.each([
    [{ limit: 10 }, 'quota.key'],
    [{ key: 'a{b}', limit: 10 }, 'quota.key'],
    [{ key: 'k', limit: 0 }, 'quota.limit'],
    [{ key: 'k', limit: -1 }, 'quota.limit'],
    [{ key: 'k' }, 'quota.limit'],
    [{ key: 'k', limit: 10, intervalMs: 0 }, 'quota.intervalMs'],
    [{ key: 'k', limit: 10, burst: 0 }, 'quota.burst'],
    [{ key: 'k', limit: 10, leaseMs: 1 }, 'quota.leaseMs'],
    [{ key: 'k', limit: 10, fallbackLimit: 0 }, 'quota.fallbackLimit'],
    [{ key: 'k', limit: 10, store: {} }, 'quota.store'],
    [{ key: 'k', limit: 10, weight: 11 }, 'quota.weight'],
    [{ key: 'k', limit: 10, weight: Number.NaN }, 'quota.weight'],
  ])('fails at construction on bad options: %j', (quota, field) => {
    let error: unknown;
    try {
      h.client('http://127.0.0.1:1', { quota } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).field).toBe(field);
  });
});

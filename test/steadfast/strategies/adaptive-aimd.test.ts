import { describe, expect, it } from 'vitest';
import {
  type ConcurrencyLimitEvent,
  isAbortError,
  isClientClosedError,
  isConcurrencyLimitedError,
  isTimeoutError,
  type LimiterEvent,
} from '../../../packages/steadfast/src/index.js';
import { rejectionOf, sleep, useHarness } from '../support.js';
import { closedLoop, startCapacityApi } from './adaptive-capacity-api.js';

const h = useHarness();

/** `previous` cut by AIMD with `ratio`, as documented: at least one less, never below `min`. */
const cut = (previous: number, ratio: number, min: number) =>
  Math.max(min, Math.min(previous - 1, Math.floor(previous * ratio)));

describe('adaptive concurrency, AIMD', () => {
  it('grows the limit by one at a time while it is used and the API answers, cuts it multiplicatively on drops, within its bounds', async () => {
    const api = await startCapacityApi(500, 10);
    try {
      const adaptive = { algorithm: 'aimd', initialLimit: 20, minLimit: 4, maxLimit: 40 } as const;
      const client = h.client(api.url, {
        concurrency: { queue: 0, adaptive: { ...adaptive, backoffRatio: 0.5 } },
        retry: false,
        // The breaker would open on the 503s and refuse calls itself: no samples for the limit.
        circuitBreaker: false,
      });
      const moves: ConcurrencyLimitEvent[] = [];
      client.events.concurrencyLimit.event((e) => moves.push(e));
      const limit = () => client.concurrencyLimits.get(api.url);

      // Healthy: 60 callers want more than the limit; it climbs to its bound, and stays there
      // for as many calls again (each phase ends when it got there, or after 10 s).
      await closedLoop(client, '/', 60, 10_000, 5, () => limit() === 40);
      const served = api.served;
      await closedLoop(client, '/', 60, 10_000, 5, () => api.served >= 2 * served);
      const growth = moves.splice(0);
      expect(growth.length).toBe(20);
      expect(growth.every((m) => m.limit === m.previous + 1)).toBe(true);
      expect(limit()).toBe(40);

      // Shedding: every answer is a 503, a drop; each cut halves (at least one less), down to 4.
      api.setStatus(503);
      await closedLoop(client, '/', 60, 10_000, 5, () => limit() === 4);
      await closedLoop(client, '/', 60, 300, 5);
      const cuts = moves.splice(0);
      expect(cuts.length).toBeGreaterThan(0);
      for (const m of cuts) expect(m.limit).toBe(cut(m.previous, 0.5, 4));
      expect(limit()).toBe(4);

      // Healthy again: back up one at a time.
      api.setStatus(200);
      await closedLoop(client, '/', 60, 10_000, 5, () => limit()! >= 20);
      const recovery = moves.splice(0);
      expect(recovery.length).toBeGreaterThanOrEqual(16); // calls still out when it got there add theirs
      expect(recovery.every((m) => m.limit === m.previous + 1 && m.limit <= 40)).toBe(true);
      expect(recovery.every((m) => m.algorithm === 'aimd' && m.origin === api.url)).toBe(true);
    } finally {
      await api.close();
    }
  }, 30_000);

  it('cuts once for a burst of timeouts of calls sent under the same limit', async () => {
    const server = await h.server(() => ({ status: 200, delayMs: 2_000 }));
    const client = h.client(server.url, {
      concurrency: {
        queue: 0,
        adaptive: { algorithm: 'aimd', initialLimit: 30, backoffRatio: 0.5 },
      },
      attemptTimeoutMs: 150,
      retry: false,
    });
    const moves: ConcurrencyLimitEvent[] = [];
    client.events.concurrencyLimit.event((e) => moves.push(e));

    const burst = await Promise.all(
      Array.from({ length: 25 }, () => rejectionOf(client.fetch('/'))),
    );
    expect(burst.every(isTimeoutError)).toBe(true);
    expect(moves.map((m) => [m.previous, m.limit])).toEqual([[30, 15]]);

    // The next wave was sent under the cut limit: its 15 admitted calls cut it once more, and
    // the 10 past the limit are refused at once.
    const wave = await Promise.all(
      Array.from({ length: 25 }, () => rejectionOf(client.fetch('/'))),
    );
    expect(wave.filter(isConcurrencyLimitedError)).toHaveLength(10);
    expect(moves.map((m) => [m.previous, m.limit])).toEqual([
      [30, 15],
      [15, 7],
    ]);
  });

  it('counts a call slower than latencyThresholdMs as a drop', async () => {
    const server = await h.server(() => ({ status: 200, delayMs: 120 }));
    const client = h.client(server.url, {
      concurrency: {
        adaptive: { algorithm: 'aimd', initialLimit: 10, minLimit: 2, latencyThresholdMs: 60 },
      },
    });
    for (let i = 0; i < 4; i++) await (await client.fetch('/')).text();
    // 10 → 9 → 8 → 7 → 6 (backoffRatio 0.9: at least one less each time).
    expect(client.concurrencyLimits.get(server.url)).toBe(6);
  });
});

describe('adaptive concurrency, per origin', () => {
  it('keeps a limit per origin: one refusing everything does not hold back another', async () => {
    const refusing = await h.server(() => ({ status: 503 }));
    const healthy = await h.server(() => ({ status: 200, delayMs: 5 }));
    const client = h.client(refusing.url, {
      concurrency: { queue: 0, adaptive: { algorithm: 'aimd', initialLimit: 30, minLimit: 2 } },
      retry: false,
      circuitBreaker: false,
    });
    const [toRefusing, toHealthy] = await Promise.all([
      closedLoop(client, `${refusing.url}/`, 20, 1_000, 5),
      closedLoop(client, `${healthy.url}/`, 20, 1_000, 5),
    ]);
    expect(client.concurrencyLimits.get(refusing.url)).toBe(2);
    expect(client.concurrencyLimits.get(healthy.url)).toBeGreaterThanOrEqual(30);
    expect(toRefusing.refused).toBeGreaterThan(0);
    expect(toHealthy.refused).toBe(0);
    expect(toHealthy.failed).toBe(0);
  });

  it('queues per origin (`concurrency.queue`), and reports each origin in `limiter` events', async () => {
    const slow = await h.server(() => ({ status: 200, delayMs: 300 }));
    const fast = await h.server(() => ({ status: 200 }));
    const client = h.client(slow.url, {
      concurrency: { queue: 1, adaptive: { algorithm: 'aimd', initialLimit: 1 } },
    });
    const reports: LimiterEvent[] = [];
    client.events.limiter.event((e) => reports.push(e));

    const first = client.fetch('/a');
    const queued = client.fetch('/b');
    const refused = rejectionOf(client.fetch('/c'));
    // The other origin has its own slot and queue.
    expect((await client.fetch(`${fast.url}/x`)).status).toBe(200);
    expect(isConcurrencyLimitedError(await refused)).toBe(true);
    expect((await first).status).toBe(200);
    expect((await queued).status).toBe(200);
    expect(slow.requests.map((r) => r.path)).toEqual(['/a', '/b']);

    const rejection = reports.find((e) => e.rejected);
    expect(rejection?.ctx?.origin).toBe(slow.url);
    expect(rejection).toMatchObject({ client: 'test', inflight: 1, limit: 1 });
    expect(reports.some((e) => e.ctx?.origin === fast.url && e.inflight === 1)).toBe(true);
    // The client's figures (what the client-level gauges show): both origins together.
    const both = reports.find((e) => e.ctx?.origin === fast.url && !e.rejected)!;
    expect(both).toMatchObject({ clientInflight: 2, clientLimit: 2 });
    expect(reports.at(-1)).toMatchObject({ clientInflight: 0 });
  });

  it('keeps at most maxOrigins limits, forgetting the least recently used idle origin', async () => {
    const servers = await Promise.all([h.server(), h.server(), h.server()]);
    const client = h.client(servers[0]!.url, {
      concurrency: { adaptive: { algorithm: 'aimd', maxOrigins: 2 } },
    });
    for (const server of servers) {
      await (await client.fetch(`${server.url}/`)).text();
      await sleep(1);
    }
    expect([...client.concurrencyLimits.keys()]).toEqual([servers[1]!.url, servers[2]!.url]);
  });
});

describe('adaptive concurrency, queue and close', () => {
  it('takes an aborted call out of the queue, and ends queued calls with ClientClosedError on close()', async () => {
    const server = await h.server(() => ({ status: 200, delayMs: 200 }));
    const client = h.client(server.url, {
      concurrency: { queue: 2, adaptive: { algorithm: 'gradient', initialLimit: 1 } },
    });
    // Its rejection is awaited only after close(): handled from the start.
    const first = rejectionOf(client.fetch('/a'));
    await server.waitForRequests(1);
    const caller = new AbortController();
    const aborted = rejectionOf(client.fetch('/b', { signal: caller.signal }));
    const queued = rejectionOf(client.fetch('/c'));
    caller.abort();
    expect(isAbortError(await aborted)).toBe(true);
    await client.close();
    expect(isClientClosedError(await queued)).toBe(true);
    expect(isClientClosedError(await first)).toBe(true);
    expect(server.requests.map((r) => r.path)).toEqual(['/a']);
  });
});

import { describe, expect, it } from 'vitest';
import {
  isCircuitOpenError,
  isPoolExhaustedError,
  isRetryBudgetExhaustedError,
  isTimeoutError,
  PoolExhaustedError,
} from '../../../packages/steadfast/src/index.js';
import { recordEvents, sleep, useHarness } from '../support.js';

const h = useHarness();

/** Loopback addresses 127.0.x.y: every one is another origin of the same server. */
const loopback = (i: number, port: number) =>
  `http://127.0.${Math.floor(i / 250)}.${(i % 250) + 1}:${port}`;

/** Timers alive in this process now. */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('per-origin breakers are bounded', () => {
  it('keeps at most maxOrigins breakers, and no timer per breaker', async () => {
    const server = await h.server(() => ({ status: 200, body: 'ok' }), { host: '0.0.0.0' });
    const client = h.client(loopback(0, server.port), {
      circuitBreaker: { maxOrigins: 50 },
      transport: { keepAliveTimeoutMs: 100 },
    });
    await (await client.fetch('/warm')).text();
    const timersBefore = timers();

    for (let i = 0; i < 400; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, j) =>
          (await client.fetch(`${loopback(i + j, server.port)}/x`)).text(),
        ),
      );
    }

    expect(server.requests.length).toBe(401);
    expect(client.breakerStates.size).toBeLessThanOrEqual(50);
    // One shared rotation timer for all breakers (opossum would start one per breaker).
    expect(timers() - timersBefore).toBeLessThan(5);
  });

  it('drops closed breakers that stay idle for a sampling window', async () => {
    const server = await h.server(() => ({ status: 200, body: 'ok' }), { host: '0.0.0.0' });
    // Timeouts generous enough for 30 new connections on a loaded machine (CI once hit the
    // 100 ms this had; the window must stay ≥ 2 × the attempt timeout): what is tested is
    // eviction, not timing.
    const client = h.client(loopback(0, server.port), {
      attemptTimeoutMs: 500,
      totalTimeoutMs: 5_000,
      circuitBreaker: { samplingDurationMs: 1_000 },
    });

    await Promise.all(
      Array.from({ length: 30 }, async (_, i) =>
        (await client.fetch(`${loopback(i, server.port)}/x`)).text(),
      ),
    );
    expect(client.breakerStates.size).toBe(30);

    // Eviction comes from the breakers' shared timer, one sampling window after the last
    // call; on a loaded machine timers run late, so wait up to 10 s (the bound, not the timing, is tested).
    for (let i = 0; i < 200 && client.breakerStates.size > 0; i++) await sleep(50);

    expect(client.breakerStates.size).toBe(0);
    // And an origin called again gets a fresh, working breaker.
    expect((await client.fetch(`${loopback(3, server.port)}/x`)).status).toBe(200);
  });

  it('keeps an open breaker while it is open, however idle', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, {
      retry: false,
      attemptTimeoutMs: 100,
      totalTimeoutMs: 1_000,
      circuitBreaker: {
        samplingDurationMs: 300,
        minimumThroughput: 2,
        failureRatio: 0.5,
        breakDurationMs: 60_000,
      },
    });

    for (let i = 0; i < 3; i++) {
      await client.fetch('/x').then(
        (res) => res.text(),
        () => {},
      );
    }
    await sleep(800);

    expect([...client.breakerStates.values()]).toEqual(['open']);
    const error = await client.fetch('/x').catch((e: unknown) => e);
    expect(isCircuitOpenError(error)).toBe(true);
  });
});

describe('waiting for a connection is not a downstream failure', () => {
  it('200 calls whose 1 MB bodies nobody reads do not open the breaker against a healthy server', async () => {
    const megabyte = Buffer.alloc(1024 * 1024, 'm');
    const server = await h.server(() => ({ status: 200, body: megabyte }));
    const client = h.client(server.url, {
      transport: { connectionsPerOrigin: 16 },
      // Server and client share this process: give the 16 responses time to start.
      attemptTimeoutMs: 1_500,
      totalTimeoutMs: 3_000,
      retry: { maxRetries: 3, baseDelayMs: 10 }, // with the default budget
      circuitBreaker: { minimumThroughput: 20, failureRatio: 0.1, samplingDurationMs: 10_000 },
    });
    const events = recordEvents(client);

    const settled = await Promise.allSettled(
      Array.from({ length: 200 }, () => client.fetch('/big')),
    );
    const responses = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const errors = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []));

    expect(responses.length).toBeGreaterThanOrEqual(16);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toBeInstanceOf(PoolExhaustedError);
      expect(isPoolExhaustedError(error)).toBe(true);
      expect(isTimeoutError(error)).toBe(true); // still an attempt timeout for the caller
      expect(error.message).toMatch(/all 16 connections to http:\/\/127\.0\.0\.1:\d+ stayed busy/);
      expect(isCircuitOpenError(error)).toBe(false);
      expect(isRetryBudgetExhaustedError(error)).toBe(false);
    }
    // Never sent, so never re-sent, and the breaker saw nothing against the origin.
    expect(server.requests.length).toBe(responses.length);
    expect(events.retries).toHaveLength(0);
    expect(events.transitions).toHaveLength(0);
    expect([...client.breakerStates.values()]).toEqual(['closed']);
    expect(events.timeouts.every((t) => t.poolExhausted)).toBe(true);

    // Freed connections serve the next call.
    await Promise.all(responses.map((r) => r.body?.cancel()));
    const next = await client.fetch('/big');
    expect(next.status).toBe(200);
    expect((await next.text()).length).toBe(megabyte.length);
  });

  it('an attempt that times out on a connection it got is still a downstream timeout', async () => {
    const server = await h.server(() => 'hang');
    const client = h.client(server.url, { retry: false, attemptTimeoutMs: 200 });

    const error = await client.fetch('/x').catch((e: unknown) => e);

    expect(isTimeoutError(error)).toBe(true);
    expect(error).not.toBeInstanceOf(PoolExhaustedError);
  });
});

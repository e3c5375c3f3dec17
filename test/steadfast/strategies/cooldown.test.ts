import { describe, expect, it } from 'vitest';
import {
  InvalidConfigurationError,
  isRateLimitedError,
  type RateLimitedError,
} from '../../../packages/steadfast/src/index.js';
import type { CooldownEvent } from '../../../packages/steadfast/src/pipeline/events.js';
import { memoryCooldownStore } from '../../../packages/steadfast/src/strategies/cooldown/memory-store.js';
import { rejectionOf, useHarness } from '../support.js';

const h = useHarness();

/** A store of its own per test, so pauses never leak between tests. */
const cooldown = (extra: Record<string, unknown> = {}) => ({
  store: memoryCooldownStore(),
  ...extra,
});

describe('server-driven cooldown', () => {
  it('pauses the origin after a 429 with Retry-After; then one probe goes first, the rest after its answer', async () => {
    const server = await h.server((request) => {
      if (request.index === 0) return { status: 429, headers: { 'retry-after': '1' } };
      return { status: 200, delayMs: request.index === 1 ? 150 : 0 }; // the probe is slow
    });
    const client = h.client(server.url, { cooldown: cooldown(), retry: false });
    const events: CooldownEvent[] = [];
    client.events.cooldown.event((e) => events.push(e));

    expect((await client.fetch('/limited')).status).toBe(429);
    const paused = performance.now();
    const waiting = Array.from({ length: 5 }, (_, i) => client.fetch(`/w${i}`));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(server.requests).toHaveLength(1); // nothing sent while paused

    const statuses = (await Promise.all(waiting)).map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const [, probe, ...rest] = server.requests;
    expect(probe!.receivedAt - paused).toBeGreaterThanOrEqual(900);
    // The others went only after the probe's (150 ms) answer.
    for (const request of rest) expect(request.receivedAt - probe!.receivedAt).toBeGreaterThan(140);
    expect(events.map((e) => [e.change, e.source])).toEqual([
      ['started', 'retry_after'],
      ['ended', 'retry_after'],
    ]);
    expect(events[0]!.durationMs).toBe(1000);
    expect(events[1]!.durationMs).toBeGreaterThanOrEqual(1000);
  });

  it('fails at once, with the time left, an attempt that cannot wait for the end of the pause', async () => {
    const server = await h.server([{ status: 429, headers: { 'retry-after': '5' } }]);
    const client = h.client(server.url, { cooldown: cooldown(), retry: false });
    await client.fetch('/limited');

    const started = performance.now();
    const error = (await rejectionOf(
      client.fetch('/soon', { timeoutMs: 1000 }),
    )) as RateLimitedError;
    expect(isRateLimitedError(error)).toBe(true);
    expect(error.limiter).toBe('cooldown');
    expect(error.reason).toBe('deadline');
    expect(error.waitMs).toBeGreaterThan(4000);
    expect(error.waitMs).toBeLessThanOrEqual(5000);
    expect(performance.now() - started).toBeLessThan(100);

    expect(server.requests).toHaveLength(1);
  });

  it('with maxWaitMs 0 fails at once while paused (reason max_wait)', async () => {
    const server = await h.server([{ status: 429, headers: { 'retry-after': '2' } }]);
    const client = h.client(server.url, { cooldown: cooldown({ maxWaitMs: 0 }), retry: false });
    await client.fetch('/limited');
    const error = (await rejectionOf(client.fetch('/now'))) as RateLimitedError;
    expect(error.reason).toBe('max_wait');
    expect(error.waitMs).toBeGreaterThan(1500);
    expect(server.requests).toHaveLength(1);
  });

  it('pauses every client of the process sharing the namespace, and only that origin', async () => {
    const limited = await h.server([{ status: 429, headers: { 'retry-after': '30' } }]);
    const other = await h.server();
    const store = memoryCooldownStore();
    const a = h.client(limited.url, { cooldown: { store, key: 'partner' }, retry: false });
    const b = h.client(limited.url, {
      name: 'b',
      cooldown: { store, key: 'partner', maxWaitMs: 0 },
      retry: false,
    });
    await a.fetch('/limited');
    const error = (await rejectionOf(b.fetch('/too'))) as RateLimitedError;
    expect(error.limiter).toBe('cooldown');
    expect((await b.fetch(`${other.url}/elsewhere`)).status).toBe(200); // another origin goes
    expect(limited.requests).toHaveLength(1);
  });

  it('pauses on a RateLimit answer with nothing left, even a 200, and caps the pause at maxMs', async () => {
    const server = await h.server([
      {
        status: 200,
        headers: { ratelimit: '"default";r=0;t=3600', 'ratelimit-policy': '"default";q=10;w=3600' },
      },
    ]);
    const client = h.client(server.url, { cooldown: cooldown({ maxMs: 300 }), retry: false });
    const events: CooldownEvent[] = [];
    client.events.cooldown.event((e) => events.push(e));
    expect((await client.fetch('/last')).status).toBe(200);
    const started = performance.now();
    expect((await client.fetch('/next')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(events[0]).toMatchObject({ change: 'started', source: 'ratelimit', durationMs: 300 });
  });

  it('a probe answered 429 again starts a new pause; one that fails ends it', async () => {
    const server = await h.server([
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 429, headers: { 'retry-after': '1' } },
      'reset',
    ]);
    const client = h.client(server.url, { cooldown: cooldown(), retry: false });
    const events: CooldownEvent[] = [];
    client.events.cooldown.event((e) => events.push(e));
    await client.fetch('/a');
    expect((await client.fetch('/probe-1')).status).toBe(429); // waited ~1 s, paused again
    await rejectionOf(client.fetch('/probe-2')); // waited ~1 s, a network error ends the pause
    const started = performance.now();
    expect((await client.fetch('/free')).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(200);
    expect(events.map((e) => e.change)).toEqual(['started', 'started', 'ended']);
  });

  it('with retries, the re-send waits for the pause and the call succeeds', async () => {
    const server = await h.server([{ status: 429, headers: { 'retry-after': '1' } }]);
    const client = h.client(server.url, { cooldown: cooldown() });
    const started = performance.now();
    expect((await client.fetch('/retried')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(server.requests).toHaveLength(2);
  });

  it.each([
    [{ maxMs: 0 }, 'cooldown.maxMs'],
    [{ probeTimeoutMs: -1 }, 'cooldown.probeTimeoutMs'],
    [{ key: 'a b' }, 'cooldown.key'],
    [{ store: { pause: 1 } }, 'cooldown.store'],
    [{ partition: 'origin' }, 'cooldown.partition'],
    [{ maxWaitMs: -1 }, 'cooldown.maxWaitMs'],
  ])('fails at construction on bad options: %j', (options, field) => {
    let error: unknown;
    try {
      h.client('http://127.0.0.1:1', { cooldown: options } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).field).toBe(field);
  });
});

import { describe, expect, it } from 'vitest';
import {
  InvalidConfigurationError,
  isAbortError,
  isRateLimitedError,
  RateLimitedError,
} from '../../../packages/steadfast/src/index.js';
import type { RateLimitEvent } from '../../../packages/steadfast/src/pipeline/events.js';
import { FAST_RETRY, rejectionOf, useHarness } from '../support.js';

const h = useHarness();

/** The grants and refusals a client's admission layers report. */
function rateLimitEvents(client: ReturnType<typeof h.client>): RateLimitEvent[] {
  const seen: RateLimitEvent[] = [];
  client.events.rateLimit.event((e) => seen.push(e));
  return seen;
}

describe('rate limiter', () => {
  it('takes a permit for every wire attempt, retries included, and never retries a refusal', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url, {
      rateLimit: { limit: 2, intervalMs: 1000, maxWaitMs: 0 },
      retry: { ...FAST_RETRY, maxRetries: 3 },
    });
    const events = rateLimitEvents(client);

    expect((await client.fetch('/a')).status).toBe(200); // 503 then 200: two permits
    const started = performance.now();
    const error = await rejectionOf(client.fetch('/b'));

    expect(isRateLimitedError(error)).toBe(true);
    const refused = error as RateLimitedError;
    expect(refused.code).toBe('ERR_STEADFAST_RATE_LIMITED');
    expect(refused.limiter).toBe('rate_limiter');
    expect(refused.reason).toBe('max_wait');
    // The bucket refills 2 per second: the next permit was ~500 ms away.
    expect(refused.waitMs).toBeGreaterThan(300);
    expect(refused.waitMs).toBeLessThanOrEqual(500);
    expect(performance.now() - started).toBeLessThan(200); // failed at once, did not wait
    expect(server.requests).toHaveLength(2); // the refused attempt was never sent nor retried
    expect(events.map((e) => e.rejected)).toEqual([undefined, undefined, 'max_wait']);
    expect(refused.message).not.toContain('?');
  });

  it('lets an attempt wait for its permit within the deadline, and refuses at once what would pass it', async () => {
    const server = await h.server();
    const client = h.client(server.url, { rateLimit: { limit: 5, intervalMs: 1000, burst: 1 } });
    await client.fetch('/first');

    const started = performance.now();
    expect((await client.fetch('/waits')).status).toBe(200); // next token in 200 ms
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(150);

    const refusedAt = performance.now();
    const error = (await rejectionOf(client.fetch('/late', { timeoutMs: 50 }))) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.reason).toBe('deadline');
    expect(error.waitMs).toBeGreaterThan(50);
    expect(performance.now() - refusedAt).toBeLessThan(40);
    expect(server.requests.map((r) => r.path)).toEqual(['/first', '/waits']);
  });

  it('serves waiting attempts first come, first served: a light one never overtakes a heavy one', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      rateLimit: {
        limit: 20,
        intervalMs: 1000,
        burst: 4,
        weight: (ctx) => Number(ctx.context.weight ?? 1),
      },
    });
    await client.fetch('/drain', { context: { weight: 4 } }); // the bucket is empty now
    const order: string[] = [];
    const heavy = client
      .fetch('/heavy', { context: { weight: 4 } })
      .then(() => order.push('heavy'));
    const light = client.fetch('/light').then(() => order.push('light'));
    await Promise.all([heavy, light]);

    expect(order).toEqual(['heavy', 'light']);
    expect(server.requests.map((r) => r.path)).toEqual(['/drain', '/heavy', '/light']);
  });

  it('holds its rate even when it is faster than the timers (a bucket of one at 500/s)', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      rateLimit: { limit: 500, intervalMs: 1000, burst: 1 },
      totalTimeoutMs: 5000,
    });
    const started = performance.now();
    let sent = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() - started < 1000) {
          await client.fetch('/fast');
          sent++;
        }
      }),
    );
    const elapsed = performance.now() - started;
    // Each wake-up of a late timer would otherwise lose what refilled meanwhile (~1 per ms).
    expect(sent).toBeGreaterThanOrEqual(Math.floor((elapsed / 1000) * 500 * 0.8));
    expect(sent).toBeLessThanOrEqual(Math.ceil((elapsed / 1000) * 500) + 1);
  });

  it('keeps one limiter per partition', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      rateLimit: {
        limit: 1,
        intervalMs: 60_000,
        maxWaitMs: 0,
        partition: (ctx) => ctx.path.split('/')[1] ?? '',
      },
    });
    expect((await client.fetch('/orders/1')).status).toBe(200);
    expect((await client.fetch('/users/1')).status).toBe(200);
    expect(isRateLimitedError(await rejectionOf(client.fetch('/orders/2')))).toBe(true);
    expect(isRateLimitedError(await rejectionOf(client.fetch('/users/2')))).toBe(true);
  });

  it('keeps at most maxPartitions, dropping the least recently used', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      rateLimit: {
        limit: 1,
        intervalMs: 60_000,
        maxWaitMs: 0,
        maxPartitions: 2,
        partition: (ctx) => ctx.path.slice(1, 2),
      },
    });
    await client.fetch('/a1');
    await client.fetch('/b1');
    await rejectionOf(client.fetch('/a2')); // a is the most recently used now
    await client.fetch('/c1'); // a third partition: b, the least recently used, goes
    expect(isRateLimitedError(await rejectionOf(client.fetch('/a3')))).toBe(true); // a stayed
    expect((await client.fetch('/b2')).status).toBe(200); // b starts afresh (c goes)
    expect(server.requests.map((r) => r.path)).toEqual(['/a1', '/b1', '/c1', '/b2']);
  });

  it('refuses a weight above what the limiter ever holds, and a weight that is not a positive number', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      rateLimit: {
        algorithm: 'fixed_window',
        limit: 10,
        weight: (ctx) => ctx.context.weight as number,
      },
    });
    const tooHeavy = (await rejectionOf(
      client.fetch('/a', { context: { weight: 11 } }),
    )) as RateLimitedError;
    expect(tooHeavy.reason).toBe('weight_exceeds_capacity');
    expect(tooHeavy.waitMs).toBe(Number.POSITIVE_INFINITY);
    for (const weight of [0, -1, Number.NaN, '3']) {
      const error = await rejectionOf(client.fetch('/b', { context: { weight } }));
      expect((error as { code?: string }).code).toBe('ERR_STEADFAST_INVALID_REQUEST');
      expect((error as Error).message).toContain('rateLimit.weight');
    }
    expect(server.requests).toHaveLength(0);
  });

  it('refuses past its queue, and lets an aborted waiter leave the queue', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      rateLimit: { limit: 1, intervalMs: 500, queueLimit: 1 },
    });
    await client.fetch('/first');
    const controller = new AbortController();
    const waiting = client.fetch('/waits', { signal: controller.signal });
    const full = (await rejectionOf(client.fetch('/full'))) as RateLimitedError;
    expect(full.reason).toBe('queue_full');
    controller.abort();
    expect(isAbortError(await rejectionOf(waiting))).toBe(true);
    // The queue is free again: this one waits for the next permit and goes.
    expect((await client.fetch('/after')).status).toBe(200);
    expect(server.requests.map((r) => r.path)).toEqual(['/first', '/after']);
  });

  it('ends waiting attempts when the client closes', async () => {
    const server = await h.server();
    const client = h.client(server.url, { rateLimit: { limit: 1, intervalMs: 60_000 } });
    await client.fetch('/first');
    const waiting = rejectionOf(client.fetch('/waits', { timeoutMs: 30_000 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await client.close();
    const error = await waiting;
    expect((error as { code?: string }).code).toMatch(/RATE_LIMITED|CLIENT_CLOSED/);
    expect(server.requests).toHaveLength(1);
  });

  it('takes a fixed weight per attempt', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      rateLimit: { limit: 10, intervalMs: 60_000, weight: 4, maxWaitMs: 0 },
    });
    await client.fetch('/1');
    await client.fetch('/2');
    const error = (await rejectionOf(client.fetch('/3'))) as RateLimitedError;
    expect(error.reason).toBe('max_wait'); // 8 of 10 taken: 4 more do not fit
    expect(server.requests).toHaveLength(2);
  });

  it.each([
    [{ limit: 0 }, 'rateLimit.limit'],
    [{ limit: -5 }, 'rateLimit.limit'],
    [{}, 'rateLimit.limit'],
    [{ limit: 10, intervalMs: 0 }, 'rateLimit.intervalMs'],
    [{ limit: 10, burst: 0 }, 'rateLimit.burst'],
    [{ limit: 10, burst: 1.5 }, 'rateLimit.burst'],
    [{ limit: 2.5, algorithm: 'fixed_window' }, 'rateLimit.limit'],
    [{ limit: 0.5 }, 'rateLimit.burst'],
    [{ limit: 10, algorithm: 'leaky' }, 'rateLimit.algorithm'],
    [{ limit: 10, partition: 'origin' }, 'rateLimit.partition'],
    [{ limit: 10, queueLimit: -1 }, 'rateLimit.queueLimit'],
    [{ limit: 10, extra: 1 }, 'rateLimit.extra'],
    [{ limit: 10, weight: 11 }, 'rateLimit.weight'],
    [{ limit: 10, burst: 4, weight: 5 }, 'rateLimit.weight'],
    [{ limit: 10, algorithm: 'sliding_window', weight: 11 }, 'rateLimit.weight'],
    [{ limit: 10, weight: 0 }, 'rateLimit.weight'],
    [{ limit: 10, weight: -2 }, 'rateLimit.weight'],
    [{ limit: 10, weight: '2' }, 'rateLimit.weight'],
  ])('fails at construction on bad options: %j', (rateLimit, field) => {
    let error: unknown;
    try {
      h.client('http://127.0.0.1:1', { rateLimit } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).field).toBe(field);
  });
});

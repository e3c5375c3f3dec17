import { describe, expect, it } from 'vitest';
import {
  ConcurrencyLimitedError,
  isConcurrencyLimitedError,
} from '../../../packages/steadfast/src/index.js';
import { FAST_RETRY, recordEvents, rejectionOf, useHarness } from '../support.js';

const h = useHarness();

describe('concurrency limiter', () => {
  it('rejects at once the call past the limit, without sending it', async () => {
    const server = await h.server(() => ({ status: 200, delayMs: 300 }));
    const client = h.client(server.url, { concurrency: { limit: 2, queue: 0 } });

    const first = client.fetch('/a');
    const second = client.fetch('/b');
    await server.waitForRequests(2);
    const started = performance.now();
    const error = await rejectionOf(client.fetch('/c'));
    const rejectedAfter = performance.now() - started;

    expect(isConcurrencyLimitedError(error)).toBe(true);
    expect(error).toBeInstanceOf(ConcurrencyLimitedError);
    expect((error as ConcurrencyLimitedError).code).toBe('ERR_STEADFAST_CONCURRENCY_LIMITED');
    expect((error as ConcurrencyLimitedError).limit).toBe(2);
    expect(rejectedAfter).toBeLessThan(250);
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(server.requests.map((r) => r.path)).toEqual(['/a', '/b']);
  });

  it('never retries a rejection', async () => {
    const server = await h.server(() => ({ status: 200, delayMs: 300 }));
    const client = h.client(server.url, {
      concurrency: { limit: 1, queue: 0 },
      retry: { ...FAST_RETRY, maxRetries: 3 },
    });
    const events = recordEvents(client);

    const first = client.fetch('/a');
    await server.waitForRequests(1);
    await rejectionOf(client.fetch('/b'));
    await first;

    expect(events.retries).toHaveLength(0);
    expect(server.requests).toHaveLength(1);
    expect(events.limiter.some((e) => e.rejected)).toBe(true);
  });

  it('frees the slot when a call ends, whether it succeeded or failed', async () => {
    const server = await h.server([{ status: 200 }, 'reset', { status: 404 }, { status: 200 }]);
    const client = h.client(server.url, { concurrency: { limit: 1, queue: 0 }, retry: false });

    expect((await client.fetch('/1')).status).toBe(200);
    await rejectionOf(client.fetch('/2'));
    expect((await client.fetch('/3')).status).toBe(404);
    expect((await client.fetch('/4')).status).toBe(200);
  });

  it('holds the slot across retries and backoff sleeps of one call', async () => {
    const server = await h.server([{ status: 503 }, { status: 503 }, { status: 200 }]);
    const client = h.client(server.url, {
      concurrency: { limit: 1, queue: 0 },
      retry: { ...FAST_RETRY, baseDelayMs: 100 },
    });

    const first = client.fetch('/a');
    await server.waitForRequests(1);
    const error = await rejectionOf(client.fetch('/b'));

    expect(isConcurrencyLimitedError(error)).toBe(true);
    expect((await first).status).toBe(200);
  });

  it('queues up to `queue` calls and runs them when a slot frees', async () => {
    const server = await h.server(() => ({ status: 200, delayMs: 100 }));
    const client = h.client(server.url, { concurrency: { limit: 1, queue: 1 } });

    const first = client.fetch('/a');
    const queued = client.fetch('/b');
    const rejected = rejectionOf(client.fetch('/c'));

    expect(isConcurrencyLimitedError(await rejected)).toBe(true);
    expect((await first).status).toBe(200);
    expect((await queued).status).toBe(200);
    expect(server.requests.map((r) => r.path)).toEqual(['/a', '/b']);
  });
});

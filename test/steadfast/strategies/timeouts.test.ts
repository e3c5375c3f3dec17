import { describe, expect, it } from 'vitest';
import { isTimeoutError, TimeoutError } from '../../../packages/steadfast/src/index.js';
import { FAST_RETRY, recordEvents, rejectionOf, useHarness } from '../support.js';

const h = useHarness();

describe('attempt timeout', () => {
  it('ends a hanging attempt with a TimeoutError of kind "attempt"', async () => {
    const server = await h.server(['hang']);
    const client = h.client(server.url, {
      retry: false,
      attemptTimeoutMs: 200,
      totalTimeoutMs: 10_000,
    });
    const events = recordEvents(client);

    const started = performance.now();
    const error = await rejectionOf(client.fetch('/slow'));

    expect(isTimeoutError(error)).toBe(true);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).kind).toBe('attempt');
    expect((error as TimeoutError).code).toBe('ERR_STEADFAST_TIMEOUT');
    expect((error as TimeoutError).message).toContain('GET');
    expect((error as TimeoutError).message).toContain('/slow');
    expect(events.timeouts.map((e) => e.kind)).toEqual(['attempt']);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('ends on time while the attempt still waits for a connection, which then sends nothing', async () => {
    // One connection per origin, held by a response whose body never ends: the second call
    // waits in undici's queue, and its attempt timeout must not wait for the connection.
    const server = await h.server((_r, i) =>
      i === 0 ? { status: 200, body: 'partial', holdOpen: true } : { status: 200 },
    );
    const client = h.client(server.url, {
      retry: false,
      attemptTimeoutMs: 200,
      totalTimeoutMs: 10_000,
      transport: { connectionsPerOrigin: 1 },
    });

    const holding = await client.request('/hold');
    const started = performance.now();
    const error = await rejectionOf(client.fetch('/queued'));
    const waitedMs = performance.now() - started;

    expect(isTimeoutError(error)).toBe(true);
    expect((error as TimeoutError).kind).toBe('attempt');
    expect(waitedMs).toBeLessThan(1_000);
    // Free the connection: the timed-out request is dropped, never sent.
    holding.body.destroy(new Error('test is done with it'));
    await client.fetch('/after').then((res) => res.text());
    expect(server.requests.map((r) => r.path)).toEqual(['/hold', '/after']);
  });

  it('retries an attempt that timed out, and the retry can succeed', async () => {
    const server = await h.server(['hang', { status: 200, body: 'second time lucky' }]);
    const client = h.client(server.url, { attemptTimeoutMs: 200, totalTimeoutMs: 10_000 });
    const events = recordEvents(client);

    const res = await client.fetch('/x');

    expect(res.status).toBe(200);
    expect(await res.text()).toBe('second time lucky');
    expect(server.requests).toHaveLength(2);
    expect(events.retries.map((e) => e.reason)).toEqual(['timeout']);
  });

  it('times out a response that is slower than the attempt timeout', async () => {
    const server = await h.server([
      { status: 200, delayMs: 2_000 },
      { status: 200, body: 'fast' },
    ]);
    const client = h.client(server.url, { attemptTimeoutMs: 200, totalTimeoutMs: 10_000 });

    const started = performance.now();
    const res = await client.fetch('/x');

    expect(await res.text()).toBe('fast');
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('does not retry a POST whose attempt timed out (it may have been processed)', async () => {
    const server = await h.server(['hang', { status: 200 }]);
    const client = h.client(server.url, { attemptTimeoutMs: 200, totalTimeoutMs: 10_000 });

    const error = await rejectionOf(client.fetch('/orders', { method: 'POST', body: 'x' }));

    expect(isTimeoutError(error)).toBe(true);
    expect(server.requests).toHaveLength(1);
  });
});

describe('total timeout (deadline)', () => {
  it('ends the call at the deadline with a TimeoutError of kind "total", however many retries are left', async () => {
    const server = await h.server(() => 'hang');
    const client = h.client(server.url, {
      retry: { ...FAST_RETRY, maxRetries: 10 },
      attemptTimeoutMs: 200,
      totalTimeoutMs: 500,
    });

    const started = performance.now();
    const error = await rejectionOf(client.fetch('/x'));
    const elapsed = performance.now() - started;

    expect(isTimeoutError(error)).toBe(true);
    expect((error as TimeoutError).kind).toBe('total');
    // Attempts at 0, ~200 and ~400 ms; the third is cut to the ~100 ms left.
    expect(server.requests.length).toBeGreaterThanOrEqual(2);
    expect(server.requests.length).toBeLessThanOrEqual(3);
    expect(elapsed).toBeLessThan(2000);
  });

  it('bounds an attempt by the time left to the deadline', async () => {
    // The attempt timeout alone (900 ms × 4 attempts) would run to ~3.6 s.
    const server = await h.server(() => 'hang');
    const client = h.client(server.url, { attemptTimeoutMs: 900, totalTimeoutMs: 1_000 });

    const started = performance.now();
    const error = await rejectionOf(client.fetch('/x'));
    const elapsed = performance.now() - started;

    expect(isTimeoutError(error)).toBe(true);
    expect(server.requests.length).toBeLessThanOrEqual(2);
    expect(elapsed).toBeLessThan(2500);
  });

  it('does not start a backoff sleep that would pass the deadline', async () => {
    const server = await h.server(() => ({ status: 503, body: 'down' }));
    const client = h.client(server.url, {
      retry: { ...FAST_RETRY, baseDelayMs: 5_000 },
      totalTimeoutMs: 3_000,
      attemptTimeoutMs: 1_000,
    });
    const events = recordEvents(client);

    const started = performance.now();
    const res = await client.fetch('/x');

    expect(res.status).toBe(503);
    expect(await res.text()).toBe('down');
    expect(server.requests).toHaveLength(1);
    expect(events.giveUps.map((e) => e.reason)).toEqual(['deadline']);
    // Well before the 3 s deadline: it did not wait for it either.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

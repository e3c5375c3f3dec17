import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AbortError, isAbortError } from '../../../packages/steadfast/src/index.js';
import { FAST_RETRY, recordEvents, rejectionOf, sleep, useHarness } from '../support.js';

const h = useHarness();

describe('the caller’s AbortSignal', () => {
  it('ends the call promptly during a backoff sleep, and nothing more is sent', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, { retry: { ...FAST_RETRY, baseDelayMs: 5_000 } });
    const events = recordEvents(client);
    const controller = new AbortController();

    const call = rejectionOf(client.fetch('/x', { signal: controller.signal }));
    await server.waitForRequests(1);
    await sleep(50);
    const abortedAt = performance.now();
    controller.abort();
    const error = await call;
    const tookMs = performance.now() - abortedAt;
    await sleep(300);

    expect(isAbortError(error)).toBe(true);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).code).toBe('ERR_STEADFAST_ABORTED');
    expect(events.retries).toHaveLength(1);
    expect(tookMs).toBeLessThan(500);
    expect(server.requests).toHaveLength(1);
  });

  it('ends the call promptly during a Retry-After wait', async () => {
    const server = await h.server(() => ({ status: 429, headers: { 'retry-after': '5' } }));
    const client = h.client(server.url);
    const controller = new AbortController();

    const call = rejectionOf(client.fetch('/x', { signal: controller.signal }));
    await server.waitForRequests(1);
    await sleep(50);
    const abortedAt = performance.now();
    controller.abort();
    const error = await call;

    expect(isAbortError(error)).toBe(true);
    expect(performance.now() - abortedAt).toBeLessThan(500);
    expect(server.requests).toHaveLength(1);
  });

  it('ends an in-flight attempt promptly and does not retry it', async () => {
    const server = await h.server(() => 'hang');
    const client = h.client(server.url);
    const events = recordEvents(client);
    const controller = new AbortController();

    const call = rejectionOf(client.fetch('/x', { signal: controller.signal }));
    await server.waitForRequests(1);
    const abortedAt = performance.now();
    controller.abort();
    const error = await call;
    const tookMs = performance.now() - abortedAt;
    await sleep(100);

    expect(isAbortError(error)).toBe(true);
    expect(tookMs).toBeLessThan(500);
    expect(events.retries).toHaveLength(0);
    expect(server.requests).toHaveLength(1);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const server = await h.server();
    const client = h.client(server.url);

    const error = await rejectionOf(client.fetch('/x', { signal: AbortSignal.abort() }));

    expect(isAbortError(error)).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  it('is not reported as a timeout', async () => {
    const server = await h.server(() => 'hang');
    const client = h.client(server.url, { attemptTimeoutMs: 5_000 });
    const events = recordEvents(client);
    const controller = new AbortController();

    const call = rejectionOf(client.fetch('/x', { signal: controller.signal }));
    await server.waitForRequests(1);
    controller.abort();
    await call;

    expect(events.timeouts).toHaveLength(0);
  });

  it('ends a call waiting in the concurrency queue, which is then never sent', async () => {
    const server = await h.server(() => ({ status: 200, delayMs: 300 }));
    const client = h.client(server.url, { concurrency: { limit: 1, queue: 1 } });
    const controller = new AbortController();

    const first = client.fetch('/first');
    await server.waitForRequests(1);
    const queued = rejectionOf(client.fetch('/queued', { signal: controller.signal }));
    await sleep(20);
    const abortedAt = performance.now();
    controller.abort();
    const error = await queued;
    const tookMs = performance.now() - abortedAt;
    await first;
    await sleep(50);

    expect(isAbortError(error)).toBe(true);
    expect(tookMs).toBeLessThan(250);
    expect(server.requests.map((r) => r.path)).toEqual(['/first']);
  });

  it('cancels the body too: a body read stalled mid-way fails promptly on abort (fetch semantics)', async () => {
    const server = await h.server([{ status: 200, body: 'first chunk', holdOpen: true }]);
    const client = h.client(server.url);
    const controller = new AbortController();

    const res = await client.fetch('/stream', { signal: controller.signal });
    const reader = res.body!.getReader();
    const first = await reader.read();
    const pending = reader.read().then(
      () => 'resolved',
      () => 'rejected',
    );
    const abortedAt = performance.now();
    controller.abort();
    const settled = await Promise.race([pending, sleep(1000).then(() => 'still waiting')]);
    await server.close(); // ends the stalled body whatever the client did

    expect(new TextDecoder().decode(first.value)).toBe('first chunk');
    expect(settled).toBe('rejected');
    expect(performance.now() - abortedAt).toBeLessThan(1000);
  });
});

describe('a long-lived caller signal (e.g. a shutdown signal shared by every call)', () => {
  /** Listeners left on `signal`, counted after a macrotask (a body's 'close' comes a tick after its end). */
  const listeners = async (signal: AbortSignal) => {
    await new Promise((resolve) => setImmediate(resolve));
    return getEventListeners(signal, 'abort').length;
  };

  it('keeps no listener once a call is over, however it ended', async () => {
    const server = await h.server((req) => {
      if (req.path === '/204') return { status: 204 };
      if (req.path === '/404') return { status: 404, body: 'missing' };
      if (req.path === '/reset') return 'reset';
      if (req.path === '/flaky') return req.index % 2 === 0 ? { status: 503 } : { status: 200 };
      return { status: 200, body: 'ok' };
    });
    const client = h.client(server.url, { retry: { ...FAST_RETRY, maxRetries: 1 } });
    const shutdown = new AbortController();
    const signal = shutdown.signal;

    await (await client.fetch('/ok', { signal })).text();
    await client.fetch('/ok', { signal, method: 'HEAD' });
    await client.fetch('/204', { signal });
    await (await client.fetch('/404', { signal })).text();
    await (await client.fetch('/flaky', { signal })).text();
    await rejectionOf(client.fetch('/reset', { signal }));
    await client.getJson('/ok', { signal }).catch(() => {});

    expect(await listeners(signal)).toBe(0);
  });

  it('keeps no listener after a rejection by the concurrency limiter or an attempt timeout', async () => {
    const server = await h.server((req) =>
      req.path === '/hang' ? 'hang' : { status: 200, delayMs: 200 },
    );
    const timingOut = h.client(server.url, { retry: false, attemptTimeoutMs: 100 });
    const limited = h.client(server.url, { retry: false, concurrency: { limit: 1, queue: 0 } });
    const signal = new AbortController().signal;

    await rejectionOf(timingOut.fetch('/hang', { signal }));
    const busy = limited.fetch('/slow', { signal });
    await server.waitForRequests(2);
    await rejectionOf(limited.fetch('/slow', { signal }));
    await (await busy).text();

    expect(await listeners(signal)).toBe(0);
  });
});

import { setMaxListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { closedPort } from '../../../helpers/http-server.js';
import { FAST_RETRY, recordEvents, rejectionOf, useHarness } from '../../support.js';

const h = useHarness();

describe('retry of transient outcomes', () => {
  it('succeeds on the third attempt after 503, 503, 200', async () => {
    const server = await h.server([{ status: 503 }, { status: 503 }, { status: 200, body: 'ok' }]);
    const client = h.client(server.url);
    const events = recordEvents(client);

    const res = await client.fetch('/weather');

    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    expect(server.requests).toHaveLength(3);
    expect(server.requests.map((r) => r.path)).toEqual(['/weather', '/weather', '/weather']);
    expect(events.retries.map((e) => [e.nextAttempt, e.reason])).toEqual([
      [1, '503'],
      [2, '503'],
    ]);
  });

  it.each([500, 502, 503, 504, 408, 429])('retries a %i response', async (status) => {
    const server = await h.server([{ status }, { status: 200 }]);
    const client = h.client(server.url);

    const res = await client.fetch('/x');

    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(2);
  });

  it.each([400, 401, 403, 404, 409, 422, 501])('does not retry a %i response', async (status) => {
    const server = await h.server([{ status, body: 'nope' }, { status: 200 }]);
    const client = h.client(server.url);
    const events = recordEvents(client);

    const res = await client.fetch('/x');

    expect(res.status).toBe(status);
    expect(await res.text()).toBe('nope');
    expect(server.requests).toHaveLength(1);
    expect(events.retries).toHaveLength(0);
  });

  it('stops after maxRetries and returns the last response', async () => {
    const server = await h.server((_req, i) => ({ status: 503, body: `fail ${i}` }));
    const client = h.client(server.url, { retry: { ...FAST_RETRY, maxRetries: 2 } });
    const events = recordEvents(client);

    const res = await client.fetch('/x');

    expect(res.status).toBe(503);
    expect(await res.text()).toBe('fail 2');
    expect(server.requests).toHaveLength(3);
    expect(events.giveUps.map((e) => e.reason)).toEqual(['max_retries']);
  });

  it('makes exactly one attempt when retry is disabled', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url, { retry: false });

    const res = await client.fetch('/x');

    expect(res.status).toBe(503);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a GET whose connection was reset', async () => {
    const server = await h.server(['reset', { status: 200, body: 'ok' }]);
    const client = h.client(server.url);
    const events = recordEvents(client);

    const res = await client.fetch('/x');

    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(2);
    expect(events.retries).toHaveLength(1);
  });

  it('retries a GET to a refused port and succeeds once the server is up', async () => {
    const port = await closedPort();
    const client = h.client(`http://127.0.0.1:${port}`, {
      retry: { ...FAST_RETRY, baseDelayMs: 300 },
    });
    const events = recordEvents(client);
    let serverUp: ReturnType<typeof h.server> | undefined;
    client.events.retry.event(() => {
      serverUp ??= h.server([{ status: 200, body: 'up' }], { port });
    });

    const res = await client.fetch('/x');

    expect(events.retries[0]?.reason).toBe('ECONNREFUSED');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('up');
    expect((await serverUp!).requests).toHaveLength(1);
  });

  it('rejects with the connection error once every allowed attempt was refused', async () => {
    const port = await closedPort();
    const client = h.client(`http://127.0.0.1:${port}`, {
      retry: { ...FAST_RETRY, maxRetries: 2 },
    });
    const events = recordEvents(client);

    const error = await rejectionOf(client.fetch('/x'));

    expect(error).toBeInstanceOf(Error);
    expect(events.retries).toHaveLength(2);
    expect(events.giveUps.map((e) => e.reason)).toEqual(['max_retries']);
    expect(JSON.stringify(errorCodes(error))).toContain('ECONNREFUSED');
  });
});

describe('responses that are retried', () => {
  it('are drained, so their connections are reused instead of piling up', async () => {
    // Larger than a stream buffer, so an undrained body stalls its socket. (Bodies of
    // megabytes may rather have their socket closed: also fine, not tested here.)
    const big = 'e'.repeat(100 * 1024);
    const server = await h.server((_r, i) =>
      i % 3 < 2 ? { status: 503, body: big } : { status: 200, body: 'ok' },
    );
    const client = h.client(server.url);

    for (let i = 0; i < 10; i++) expect(await (await client.fetch('/x')).text()).toBe('ok');

    expect(server.requests).toHaveLength(30);
    // Undrained bodies would hold their sockets: one new connection per attempt.
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(3);
  });
});

describe('retry and HTTP methods', () => {
  it.each(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])('retries %s on a 503', async (method) => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url);

    const res = await client.fetch('/x', { method });

    expect(res.status).toBe(200);
    expect(server.requests.map((r) => r.method)).toEqual([method, method]);
  });

  it.each(['POST', 'PATCH'])('does not retry %s on a 503', async (method) => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url);
    const events = recordEvents(client);

    const res = await client.fetch('/orders', { method, body: '{"n":1}' });

    expect(res.status).toBe(503);
    expect(server.requests).toHaveLength(1);
    expect(events.retries).toHaveLength(0);
    expect(events.giveUps.map((e) => e.reason)).toEqual(['method_not_idempotent']);
  });

  it('does not retry a POST whose connection was reset after the request was sent', async () => {
    const server = await h.server(['reset', { status: 200 }]);
    const client = h.client(server.url);

    await rejectionOf(client.fetch('/orders', { method: 'POST', body: 'x' }));

    expect(server.requests).toHaveLength(1);
  });

  it('retries a POST to a refused port (the request never reached a server)', async () => {
    const port = await closedPort();
    const client = h.client(`http://127.0.0.1:${port}`, {
      retry: { ...FAST_RETRY, maxRetries: 2, baseDelayMs: 300 },
    });
    const events = recordEvents(client);
    let server: Promise<Awaited<ReturnType<typeof h.server>>> | undefined;
    client.events.retry.event(() => {
      server ??= h.server([{ status: 201, body: 'created' }], { port });
    });

    const res = await client.fetch('/orders', { method: 'POST', body: 'payload' });

    expect(events.retries[0]?.reason).toBe('ECONNREFUSED');
    expect(res.status).toBe(201);
    const received = (await server!).requests;
    expect(received).toHaveLength(1);
    expect(received[0]?.body.toString()).toBe('payload');
  });

  it('retries a POST whose host name does not resolve (it never reached a server)', async () => {
    const client = h.client('http://steadfast-test.invalid', {
      retry: { ...FAST_RETRY, maxRetries: 1 },
    });
    const events = recordEvents(client);

    await rejectionOf(client.fetch('/orders', { method: 'POST', body: 'x' }));

    expect(events.retries).toHaveLength(1);
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(events.retries[0]?.reason);
  });

  it('retries a POST that carries an Idempotency-Key, with the same key each time', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url);

    const res = await client.fetch('/orders', {
      method: 'POST',
      headers: { 'Idempotency-Key': 'order-42' },
      body: 'x',
    });

    expect(res.status).toBe(200);
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual([
      'order-42',
      'order-42',
    ]);
  });

  it('retries a POST the caller marked idempotent', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url);

    const res = await client.fetch('/orders', { method: 'POST', body: 'x', idempotent: true });

    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(2);
  });

  it('retries a POST when the client opts in to retrying unsafe methods', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url, { retry: { ...FAST_RETRY, retryUnsafeMethods: true } });

    const res = await client.fetch('/orders', { method: 'POST', body: 'x' });

    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(2);
  });
});

describe('the retry predicate', () => {
  it('can extend the default rule (409 retried as well)', async () => {
    const server = await h.server([{ status: 409 }, { status: 503 }, { status: 200 }]);
    const client = h.client(server.url, {
      retry: {
        ...FAST_RETRY,
        shouldRetry: (outcome, _ctx, byDefault) =>
          byDefault || (outcome.kind === 'response' && outcome.response.status === 409),
      },
    });

    const res = await client.fetch('/x');

    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(3);
  });

  it('can replace the default rule (503 not retried)', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url, {
      retry: { ...FAST_RETRY, shouldRetry: () => false },
    });

    const res = await client.fetch('/x');

    expect(res.status).toBe(503);
    expect(server.requests).toHaveLength(1);
  });
});

describe('backoff', () => {
  const delaysOf = async (retry: Record<string, unknown>): Promise<number[]> => {
    const server = await h.server((_r, i) => (i < 3 ? { status: 503 } : { status: 200 }));
    const client = h.client(server.url, { retry: { ...FAST_RETRY, ...retry } });
    const events = recordEvents(client);
    const res = await client.fetch('/x');
    expect(res.status).toBe(200);
    expect(events.retries.every((e) => e.delaySource === 'backoff')).toBe(true);
    return events.retries.map((e) => e.delayMs);
  };

  it('waits the base delay every time with constant backoff', async () => {
    expect(await delaysOf({ backoff: 'constant', baseDelayMs: 10 })).toEqual([10, 10, 10]);
  });

  it('adds the base delay each time with linear backoff', async () => {
    expect(await delaysOf({ backoff: 'linear', baseDelayMs: 10 })).toEqual([10, 20, 30]);
  });

  it('doubles the delay each time with exponential backoff', async () => {
    expect(await delaysOf({ backoff: 'exponential', baseDelayMs: 10 })).toEqual([10, 20, 40]);
  });

  it('never waits more than maxDelayMs', async () => {
    expect(await delaysOf({ backoff: 'exponential', baseDelayMs: 10, maxDelayMs: 15 })).toEqual([
      10, 15, 15,
    ]);
  });

  it('jitters exponential delays from the random source, within maxDelayMs', async () => {
    const low = await delaysOf({
      backoff: 'exponential',
      jitter: true,
      baseDelayMs: 10,
      maxDelayMs: 50,
      random: () => 0.01,
    });
    const high = await delaysOf({
      backoff: 'exponential',
      jitter: true,
      baseDelayMs: 10,
      maxDelayMs: 50,
      random: () => 0.99,
    });

    for (const delay of [...low, ...high]) {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(50);
    }
    expect(low).not.toEqual(high);
  });
});

/** Every `code` and `message` along an error's cause chain (for matching without knowing the wrapper). */
function errorCodes(error: unknown): string[] {
  const found: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 6; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string') found.push(code);
    if (typeof message === 'string') found.push(message);
    const errors = (current as { errors?: unknown[] }).errors;
    if (Array.isArray(errors)) for (const e of errors) found.push(...errorCodes(e));
    current = (current as { cause?: unknown }).cause;
  }
  return found;
}

describe('many calls backing off at once', () => {
  it('does not make Node warn about a listener leak', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const server = await h.server((_r, i) => (i < 50 ? { status: 503 } : { status: 200 }));
      const client = h.client(server.url, { retry: { ...FAST_RETRY, baseDelayMs: 100 } });

      const statuses = await Promise.all(
        Array.from({ length: 50 }, async () => (await client.fetch('/x')).status),
      );
      await new Promise((resolve) => setImmediate(resolve));

      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('does not make Node warn when many calls share one caller signal (e.g. a shutdown signal)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const server = await h.server(() => ({ status: 200, delayMs: 100, body: 'ok' }));
      const client = h.client(server.url);
      const shutdown = new AbortController();

      const responses = await Promise.all(
        Array.from({ length: 50 }, () => client.fetch('/x', { signal: shutdown.signal })),
      );
      const bodies = await Promise.all(responses.map((r) => r.text()));
      await new Promise((resolve) => setImmediate(resolve));

      expect(bodies.every((b) => b === 'ok')).toBe(true);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('a caller signal whose owner lifted the listener limit', () => {
  const h2 = useHarness();
  it('still works (Node 20 throws from getMaxListeners on such a signal)', async () => {
    const server = await h2.server([{ status: 200, body: 'ok' }]);
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);

    const res = await h2.client(server.url).fetch('/x', { signal: controller.signal });

    expect(await res.text()).toBe('ok');
  });
});

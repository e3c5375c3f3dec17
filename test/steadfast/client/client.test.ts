import { describe, expect, it } from 'vitest';
import {
  isCircuitOpenError,
  isHttpStatusError,
  isSteadfastError,
  isTimeoutError,
} from '../../../packages/steadfast/src/index.js';
import { closedPort } from '../../helpers/http-server.js';
import { rejectionOf, useHarness } from '../support.js';

const h = useHarness();

describe('the client speaks fetch', () => {
  it('resolves relative paths against baseUrl and keeps the query', async () => {
    const server = await h.server();
    const client = h.client(server.url);

    await client.fetch('/forecast?city=Oslo&days=3');
    await client.fetch('forecast/today');

    expect(server.requests.map((r) => r.path)).toEqual([
      '/forecast?city=Oslo&days=3',
      '/forecast/today',
    ]);
  });

  it('resolves against a baseUrl with a path prefix like the URL standard does', async () => {
    const server = await h.server();
    const client = h.client(`${server.url}/api/v2/`);

    await client.fetch('forecast?days=1');
    await client.fetch('/health');

    expect(server.requests.map((r) => r.path)).toEqual(['/api/v2/forecast?days=1', '/health']);
  });

  it('accepts an absolute URL string and a URL object', async () => {
    const server = await h.server();
    const client = h.client(server.url);

    await client.fetch(`${server.url}/a`);
    await client.fetch(new URL('/b?x=1', server.url));

    expect(server.requests.map((r) => r.path)).toEqual(['/a', '/b?x=1']);
  });

  it('accepts a Request, taking its method, headers and body', async () => {
    const server = await h.server();
    const client = h.client(server.url);

    await client.fetch(
      new Request(`${server.url}/r`, {
        method: 'PUT',
        headers: { 'x-from-request': 'yes' },
        body: 'request body',
      }),
    );

    expect(server.requests[0]?.method).toBe('PUT');
    expect(server.requests[0]?.headers['x-from-request']).toBe('yes');
    expect(server.requests[0]?.body.toString()).toBe('request body');
  });

  it('returns a standard Response with status, headers and body', async () => {
    const server = await h.server([
      {
        status: 201,
        headers: { 'x-trace': 'abc', 'content-type': 'application/json' },
        body: '{"ok":true}',
      },
    ]);
    const client = h.client(server.url);

    const res = await client.fetch('/x');

    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(201);
    expect(res.ok).toBe(true);
    expect(res.headers.get('x-trace')).toBe('abc');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ ok: true });
  });

  it('streams a large response body', async () => {
    const big = 'y'.repeat(2 * 1024 * 1024);
    const server = await h.server([{ status: 200, body: big }]);
    const client = h.client(server.url);

    const res = await client.fetch('/big');
    const reader = res.body!.getReader();
    let length = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
    }

    expect(length).toBe(big.length);
  });

  it('sends the method, the headers and the body it was given', async () => {
    const server = await h.server();
    const client = h.client(server.url);

    await client.fetch('/items/7', {
      method: 'delete',
      headers: { 'X-Request-Id': 'r-1', Accept: 'application/json' },
    });
    await client.fetch('/items', {
      method: 'POST',
      headers: new Headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ a: 1 }),
    });

    expect(server.requests[0]?.method).toBe('DELETE');
    expect(server.requests[0]?.headers['x-request-id']).toBe('r-1');
    expect(server.requests[0]?.headers.accept).toBe('application/json');
    expect(server.requests[1]?.method).toBe('POST');
    expect(server.requests[1]?.body.toString()).toBe('{"a":1}');
  });

  it('answers HEAD without a body', async () => {
    const server = await h.server([{ status: 200, headers: { 'x-size': '10' } }]);
    const client = h.client(server.url);

    const res = await client.fetch('/x', { method: 'HEAD' });

    expect(res.status).toBe(200);
    expect(res.headers.get('x-size')).toBe('10');
    expect(await res.text()).toBe('');
  });

  it('goes through undici, not global fetch (which costs several times more CPU)', async () => {
    const server = await h.server();
    const client = h.client(server.url);
    const realFetch = globalThis.fetch;
    let globalFetchCalls = 0;
    globalThis.fetch = (...args: Parameters<typeof fetch>) => {
      globalFetchCalls++;
      return realFetch(...args);
    };
    try {
      await (await client.fetch('/x')).text();
    } finally {
      globalThis.fetch = realFetch;
    }

    expect(server.requests).toHaveLength(1);
    expect(globalFetchCalls).toBe(0);
  });

  it('reuses keep-alive connections across calls', async () => {
    const server = await h.server();
    const client = h.client(server.url);

    for (let i = 0; i < 10; i++) await (await client.fetch('/x')).text();

    // undici's pool may open a second connection (raw undici does the same), not one per call.
    expect(server.requests).toHaveLength(10);
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
  });
});

describe('getJson', () => {
  it('parses a JSON body into the typed value', async () => {
    const server = await h.server([
      { status: 200, headers: { 'content-type': 'application/json' }, body: '[{"day":1,"t":3}]' },
    ]);
    const client = h.client(server.url);

    const days = await client.getJson<{ day: number; t: number }[]>('/forecast');

    expect(days).toEqual([{ day: 1, t: 3 }]);
    expect(server.requests[0]?.method).toBe('GET');
  });

  it('rejects with HttpStatusError carrying status and headers on a non-2xx', async () => {
    const server = await h.server([{ status: 404, headers: { 'x-why': 'gone' }, body: 'nope' }]);
    const client = h.client(server.url);

    const error = await rejectionOf(client.getJson('/missing'));

    expect(isHttpStatusError(error)).toBe(true);
    expect((error as { status: number }).status).toBe(404);
    expect((error as { headers: Headers }).headers.get('x-why')).toBe('gone');
    expect((error as Error).message).toContain('GET');
    expect((error as Error).message).toContain('/missing');
  });
});

describe('error messages never carry secrets from the URL', () => {
  const SECRET = 's3cr3t-T0KEN-value';
  const everything = (error: unknown): string => {
    const parts: string[] = [];
    let current: unknown = error;
    for (let depth = 0; current && depth < 6; depth++) {
      const e = current as { message?: unknown; stack?: unknown; cause?: unknown };
      parts.push(String(e.message), String(e.stack), String(current));
      current = e.cause;
    }
    return parts.join('\n');
  };

  it('HttpStatusError', async () => {
    const server = await h.server([
      { status: 500 },
      { status: 500 },
      { status: 500 },
      { status: 500 },
    ]);
    const client = h.client(server.url);

    const error = await rejectionOf(client.getJson(`/data?api_key=${SECRET}&x=1`));

    expect(isHttpStatusError(error)).toBe(true);
    expect(everything(error)).not.toContain(SECRET);
    expect(server.requests[0]?.path).toContain(SECRET);
  });

  it('TimeoutError', async () => {
    const server = await h.server(() => 'hang');
    const client = h.client(server.url, {
      retry: false,
      attemptTimeoutMs: 100,
      totalTimeoutMs: 1000,
    });

    const error = await rejectionOf(client.fetch(`/data?access_token=${SECRET}`));

    expect(isTimeoutError(error)).toBe(true);
    expect(everything(error)).not.toContain(SECRET);
  });

  it('CircuitOpenError', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, {
      retry: false,
      attemptTimeoutMs: 1000,
      circuitBreaker: {
        failureRatio: 0.5,
        minimumThroughput: 2,
        samplingDurationMs: 10_000,
        breakDurationMs: 10_000,
      },
    });
    await client.fetch(`/d?key=${SECRET}`);
    await client.fetch(`/d?key=${SECRET}`);

    const error = await rejectionOf(client.fetch(`/d?key=${SECRET}`));

    expect(isCircuitOpenError(error)).toBe(true);
    expect(everything(error)).not.toContain(SECRET);
  });

  it('connection errors', async () => {
    const port = await closedPort();
    const client = h.client(`http://127.0.0.1:${port}`, { retry: false });

    const error = await rejectionOf(client.fetch(`/d?client_secret=${SECRET}`));

    expect(everything(error)).not.toContain(SECRET);
  });
});

describe('errors say which call failed', () => {
  it('name the method and the URL path in every typed error', async () => {
    const failing = await h.server(() => ({ status: 503 }));
    const hanging = await h.server(() => 'hang');
    const slow = await h.server(() => ({ status: 200, delayMs: 300 }));
    const breakerClient = h.client(failing.url, {
      retry: false,
      attemptTimeoutMs: 1000,
      circuitBreaker: {
        failureRatio: 0.5,
        minimumThroughput: 1,
        samplingDurationMs: 10_000,
        breakDurationMs: 10_000,
      },
    });
    await breakerClient.fetch('/first');
    const timeoutClient = h.client(hanging.url, { retry: false, attemptTimeoutMs: 100 });
    const limitedClient = h.client(slow.url, { concurrency: { limit: 1, queue: 0 } });
    const busy = limitedClient.fetch('/busy');
    await slow.waitForRequests(1);

    const errors = [
      await rejectionOf(breakerClient.fetch('/orders/7', { method: 'DELETE' })),
      await rejectionOf(timeoutClient.fetch('/orders/7', { method: 'DELETE' })),
      await rejectionOf(limitedClient.fetch('/orders/7', { method: 'DELETE' })),
    ];
    await busy;

    for (const error of errors) {
      expect(isSteadfastError(error)).toBe(true);
      expect((error as Error).message).toContain('DELETE');
      expect((error as Error).message).toContain('/orders/7');
    }
  });
});

describe('after close()', () => {
  it('rejects new calls with a SteadfastError', async () => {
    const server = await h.server();
    const client = h.client(server.url);
    await client.close();

    const error = await rejectionOf(client.fetch('/x'));

    expect(isSteadfastError(error)).toBe(true);
    expect(server.requests).toHaveLength(0);
  });
});

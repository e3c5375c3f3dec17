/**
 * Steadfast's own options of one call (`timeoutMs`, `attemptTimeoutMs`, `retry`,
 * `idempotencyKey`, `json`, `searchParams`, `context`) on real loopback servers: what goes
 * over the wire, how the call ends, and the validation that rejects a wrong one before
 * anything is sent.
 */
import { describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/client-credentials.js';
import {
  type CallContext,
  InvalidRequestError,
  isAbortError,
  isTimeoutError,
  type RequestOptions,
  type TimeoutError,
} from '../../../packages/steadfast/src/index.js';
import { recordEvents, rejectionOf, useHarness } from '../support.js';

const h = useHarness();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('timeoutMs: a deadline for this call', () => {
  it("ends the call with a TimeoutError of kind total naming the call's timeoutMs when it is sooner than the client's", async () => {
    const server = await h.server(['hang']);
    const client = h.client(server.url, { totalTimeoutMs: 10_000, attemptTimeoutMs: 5_000 });
    const started = performance.now();

    const error = await rejectionOf(client.fetch('/slow', { timeoutMs: 150 }));

    expect(isTimeoutError(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'total', timeoutMs: 150 });
    expect((error as TimeoutError).message).toContain("the call's timeoutMs");
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("leaves the client's totalTimeoutMs in force when the call's is longer, and says so", async () => {
    // One attempt (no retry), bounded by the client's deadline: the attempt starts after the
    // deadline was set, so the time left is below attemptTimeoutMs and the deadline fires.
    const server = await h.server(['hang']);
    const client = h.client(server.url, {
      totalTimeoutMs: 250,
      attemptTimeoutMs: 250,
      retry: false,
    });

    const error = await rejectionOf(client.fetch('/slow', { timeoutMs: 60_000 }));

    expect(error).toMatchObject({ kind: 'total', timeoutMs: 250 });
    expect((error as TimeoutError).message).toContain("the client's totalTimeoutMs");
  });

  it('bounds the retries too: no re-send is started past it', async () => {
    const server = await h.server(() => ({ status: 503, delayMs: 60 }));
    const client = h.client(server.url, {
      retry: { maxRetries: 100, backoff: 'constant', jitter: false, baseDelayMs: 1, budget: false },
    });

    const res = await client.fetch('/busy', { timeoutMs: 250 }).catch((e: unknown) => e);

    // Either the last 503 (the next re-send would pass the deadline) or the deadline itself.
    if (res instanceof Response) expect(res.status).toBe(503);
    else expect(res).toMatchObject({ kind: 'total', timeoutMs: 250 });
    expect(server.requests.length).toBeLessThanOrEqual(5);
  });
});

describe('attemptTimeoutMs: a bound on each attempt of this call', () => {
  it('cuts a hanging attempt at the call’s bound and retries it', async () => {
    const server = await h.server(['hang', { status: 200, body: 'second' }]);
    const client = h.client(server.url, { attemptTimeoutMs: 5_000 });
    const events = recordEvents(client);
    const started = performance.now();

    const res = await client.fetch('/a', { attemptTimeoutMs: 100 });

    expect(await res.text()).toBe('second');
    expect(events.timeouts).toMatchObject([{ kind: 'attempt', timeoutMs: 100 }]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("rejects with a TimeoutError of kind attempt naming the call's attemptTimeoutMs", async () => {
    const server = await h.server(['hang']);
    const client = h.client(server.url, { attemptTimeoutMs: 5_000 });

    const error = await rejectionOf(
      client.fetch('/a', { attemptTimeoutMs: 100, retry: { maxRetries: 0 } }),
    );

    expect(error).toMatchObject({ kind: 'attempt', timeoutMs: 100 });
    expect((error as TimeoutError).message).toContain("the call's attemptTimeoutMs");
  });
});

describe('a caller signal that times out', () => {
  it('ends the call with a TimeoutError of kind total, as ky and got do; a plain abort stays an AbortError', async () => {
    const server = await h.server(() => 'hang');
    const client = h.client(server.url);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    const [error, aborted] = await Promise.all([
      rejectionOf(client.fetch('/a', { signal: AbortSignal.timeout(150) })),
      rejectionOf(client.fetch('/b', { signal: controller.signal })),
    ]);

    expect(isTimeoutError(error)).toBe(true);
    expect(isAbortError(error)).toBe(false);
    expect((error as TimeoutError).kind).toBe('total');
    expect((error as TimeoutError).message).toContain("the caller's signal timed out");
    expect((error as Error).cause).toMatchObject({ name: 'TimeoutError' });
    expect(isAbortError(aborted)).toBe(true);
    expect(isTimeoutError(aborted)).toBe(false);
  });

  it('also while the call sleeps before a retry', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, {
      retry: { maxRetries: 3, backoff: 'constant', jitter: false, baseDelayMs: 5_000 },
    });

    const error = await rejectionOf(client.request('/a', { signal: AbortSignal.timeout(150) }));

    expect(error).toMatchObject({ kind: 'total' });
    expect(server.requests).toHaveLength(1);
  });
});

describe('retry: this call’s retries', () => {
  it('false: a transient failure is returned at once', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url);

    const res = await client.fetch('/a', { retry: false });

    expect(res.status).toBe(503);
    expect(server.requests).toHaveLength(1);
  });

  it("an object changes only what it names; the rest stays the client's", async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url); // FAST_RETRY: 3 retries, constant 1 ms

    const res = await client.fetch('/a', { retry: { maxRetries: 1 } });

    expect(res.status).toBe(503);
    expect(server.requests).toHaveLength(2);
  });

  it('one shared object serves many calls (merged once), and calls without it keep the client’s', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url);
    const once: RequestOptions['retry'] = { maxRetries: 1 };

    await client.fetch('/a', { retry: once });
    await client.fetch('/b', { retry: once });
    await client.fetch('/c');

    expect(server.requests.map((r) => r.path)).toEqual([
      '/a',
      '/a',
      '/b',
      '/b',
      '/c',
      '/c',
      '/c',
      '/c',
    ]);
  });

  it('another shouldRetry for this call', async () => {
    const server = await h.server([{ status: 404 }, { status: 200, body: 'found' }]);
    const client = h.client(server.url);
    const seen: CallContext[] = [];

    const res = await client.fetch('/eventually', {
      retry: {
        shouldRetry: (outcome, ctx, byDefault) => {
          seen.push(ctx);
          return byDefault || (outcome.kind === 'response' && outcome.response.status === 404);
        },
      },
    });

    expect(await res.text()).toBe('found');
    expect(seen).toHaveLength(2);
  });

  it('turns retries on for one call of a client created with retry: false', async () => {
    const server = await h.server([{ status: 503 }, { status: 503 }, { status: 200 }]);
    const client = h.client(server.url, { retry: false });

    const res = await client.fetch('/a', {
      retry: { maxRetries: 2, backoff: 'constant', jitter: false, baseDelayMs: 1 },
    });
    const plain = await client.fetch('/b');

    expect(res.status).toBe(200);
    expect(plain.status).toBe(200);
    expect(server.requests.map((r) => r.path)).toEqual(['/a', '/a', '/a', '/b']);
  });

  it('false still re-authorizes once on a 401, then returns the next failure unretried', async () => {
    let issued = 0;
    const idp = await h.server(() => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        access_token: `token-${++issued}`,
        token_type: 'Bearer',
        expires_in: 300,
      }),
    }));
    const api = await h.server([
      { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
      { status: 503 },
      { status: 200 },
    ]);
    const client = h.client(api.url, {
      auth: clientCredentials({
        tokenUrl: `${idp.url}/token`,
        clientId: 'per-call',
        clientSecret: 'per-call-secret',
      }),
    });

    const res = await client.fetch('/data', { retry: false });

    expect(res.status).toBe(503);
    expect(api.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-2',
    ]);
  });
});

describe('idempotencyKey', () => {
  it('true: one generated key, the same on every attempt, makes a POST retryable', async () => {
    const server = await h.server([{ status: 503 }, { status: 503 }, { status: 201 }]);
    const client = h.client(server.url);

    const res = await client.fetch('/orders', {
      method: 'POST',
      json: { sku: 'A-1' },
      idempotencyKey: true,
    });
    await client.fetch('/orders', { method: 'POST', body: 'again', idempotencyKey: true });

    expect(res.status).toBe(201);
    const keys = server.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(4);
    expect(keys[0]).toMatch(UUID);
    expect(keys.slice(0, 3)).toEqual([keys[0], keys[0], keys[0]]);
    expect(keys[3]).toMatch(UUID);
    expect(keys[3]).not.toBe(keys[0]);
  });

  it('a string is sent as given', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url);

    const res = await client.fetch('/pay', { method: 'POST', idempotencyKey: 'order-42' });

    expect(res.status).toBe(200);
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual([
      'order-42',
      'order-42',
    ]);
  });
});

describe('json', () => {
  it('serializes the body once, sends it with every attempt as application/json, whatever the method', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url);

    await client.fetch('/items/1', { method: 'PUT', json: { name: 'lamp', tags: ['a'] } });

    expect(server.requests).toHaveLength(2);
    for (const request of server.requests) {
      expect(request.method).toBe('PUT');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.body.toString()).toBe('{"name":"lamp","tags":["a"]}');
    }
  });

  it('keeps a content-type the headers give, and works with the JSON helpers', async () => {
    const server = await h.server([
      { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' },
    ]);
    const client = h.client(server.url);

    const answer = await client.getJson('/items/1', {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      json: { name: null },
    });

    expect(answer).toEqual({ ok: true });
    expect(server.requests[0]).toMatchObject({
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', accept: 'application/json' },
    });
    expect(server.requests[0]?.body.toString()).toBe('{"name":null}');
  });
});

describe('searchParams', () => {
  it("are appended to the URL's own query; undefined values are left out", async () => {
    const server = await h.server();
    const client = h.client(server.url);

    await client.fetch('/search?q=lamp', {
      searchParams: { page: 2, exact: true, sort: 'price asc', skip: undefined },
    });
    await client.fetch('/search', { searchParams: new URLSearchParams([['tag', 'a&b']]) });
    await client.fetch(`${server.url}/abs#frag`, { searchParams: '?x=1&y=2' });
    await client.fetch('/empty', { searchParams: {} });

    expect(server.requests.map((r) => r.path)).toEqual([
      '/search?q=lamp&page=2&exact=true&sort=price+asc',
      '/search?tag=a%26b',
      '/abs?x=1&y=2',
      '/empty',
    ]);
  });

  it('also on a Request given as input', async () => {
    const server = await h.server();
    const client = h.client(server.url);

    await client.fetch(new Request(`${server.url}/r?a=1`), { searchParams: { b: 2 } });

    expect(server.requests[0]?.path).toBe('/r?a=1&b=2');
  });
});

describe('context', () => {
  it('reaches event listeners and the chaos strategy as ctx.context, and is never sent', async () => {
    const server = await h.server();
    const client = h.client(server.url, { chaos: {} });
    const seen: unknown[] = [];
    client.events.faultInjected.event((e) => seen.push(e.ctx.context));
    client.events.retry.event((e) => seen.push(e.ctx.context));
    const context = { tenant: 'acme', requestId: 'r-7' };

    await client.fetch('/a', { context, headers: { 'x-steadfast-chaos': '503*1' } });

    expect(seen).toEqual([context, context]);
    expect(JSON.stringify(server.requests[0]?.headers)).not.toContain('acme');
  });

  it('is an empty object on a call that gave none', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url);
    const seen: unknown[] = [];
    client.events.retry.event((e) => seen.push(e.ctx.context));

    await client.fetch('/a');

    expect(seen).toEqual([{}]);
  });
});

describe('a wrong per-call option rejects the call before anything is sent', () => {
  const SECRET = 'sk_live_do-not-print';
  it.each<[string, Record<string, unknown>]>([
    ['timeoutMs', { timeoutMs: 0 }],
    ['timeoutMs', { timeoutMs: '100' }],
    ['attemptTimeoutMs', { attemptTimeoutMs: -1 }],
    ['attemptTimeoutMs', { timeoutMs: 100, attemptTimeoutMs: 200 }],
    ['retry', { retry: true }],
    ['retry', { retry: null }],
    ['retry.maxRetries', { retry: { maxRetries: 101 } }],
    ['retry.budget', { retry: { budget: { ratio: 0.5 } } }],
    ['retry.maxDelayMs', { retry: { baseDelayMs: 10, maxDelayMs: 5 } }],
    ['retry.baseDelayMs', { retry: { baseDelayMs: 60_000 } }], // above the client's maxDelayMs
    ['retry.shouldRetry', { retry: { shouldRetry: 'yes' } }],
    ['idempotencyKey', { idempotencyKey: false }],
    ['idempotencyKey', { idempotencyKey: `has spaces ${SECRET}` }],
    ['idempotencyKey', { idempotencyKey: 'k', headers: { 'Idempotency-Key': 'other' } }],
    ['json', { json: 10n }],
    ['json', { json: () => 1 }],
    ['json', { json: { a: 1 }, body: 'both' }],
    ['searchParams', { searchParams: 42 }],
    ['searchParams', { searchParams: { token: { nested: SECRET } } }],
    ['context', { context: 'tenant' }],
  ])('%s (case %#)', async (field, options) => {
    const server = await h.server();
    const client = h.client(server.url);

    const error = await rejectionOf(client.fetch('/a', options as RequestOptions));

    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ code: 'ERR_STEADFAST_INVALID_REQUEST', field });
    expect((error as Error).message).toContain(`\`${field}\``);
    expect((error as Error).message).not.toContain(SECRET);
    expect(server.requests).toHaveLength(0);
  });

  it('the JSON helpers and request() check them the same way', async () => {
    const server = await h.server();
    const client = h.client(server.url);

    const errors = await Promise.all([
      rejectionOf(client.getJson('/a', { timeoutMs: -5 })),
      rejectionOf(client.postJson('/a', {}, { retry: { maxRetries: 1.5 } })),
      rejectionOf(client.request('/a', { context: [] as never })),
    ]);

    expect(errors.map((e) => (e as InvalidRequestError).field)).toEqual([
      'timeoutMs',
      'retry.maxRetries',
      'context',
    ]);
    expect(server.requests).toHaveLength(0);
  });
});

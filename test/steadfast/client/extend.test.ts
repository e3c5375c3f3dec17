/**
 * `client.extend(options)`: a derived client shares its parent's pipeline — pools, breakers,
 * limiter, token and its origins, telemetry — with other defaults for its calls; closing
 * the parent closes it, closing it ends its own calls only. Real loopback servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/client-credentials.js';
import {
  InvalidConfigurationError,
  isCircuitOpenError,
  isClientClosedError,
  isTimeoutError,
  type TimeoutError,
} from '../../../packages/steadfast/src/index.js';
import { FAST_RETRY, rejectionOf, sleep, useHarness } from '../support.js';
import { startTokenServer, type TokenServer } from '../telemetry/support.js';

const h = useHarness();

let idp: TokenServer;
beforeAll(async () => {
  idp = await startTokenServer(`ext${Date.now().toString(36)}`);
});
afterAll(async () => {
  await idp.close();
});

describe('what a derived client shares', () => {
  it("uses its parent's keep-alive pool: calls of both go over one connection", async () => {
    const server = await h.server();
    const parent = h.client(server.url);
    const child = parent.extend({ headers: { 'x-family': 'reports' } });

    for (let i = 0; i < 3; i++) {
      await (await parent.fetch('/a')).text();
      await sleep(10); // the socket is back in the pool
      await (await child.fetch('/b')).text();
      await sleep(10);
    }

    expect(server.requests.map((r) => r.headers['x-family'])).toEqual([
      undefined,
      'reports',
      undefined,
      'reports',
      undefined,
      'reports',
    ]);
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBe(1);
  });

  it("has its parent's circuit breaker: failures of one open it for both", async () => {
    const server = await h.server(() => ({ status: 503 }));
    const parent = h.client(server.url, {
      retry: false,
      circuitBreaker: { minimumThroughput: 2, failureRatio: 0.5, samplingDurationMs: 60_000 },
    });
    const child = parent.extend({ retry: false });

    await (await child.fetch('/x')).text();
    await (await child.fetch('/x')).text();

    expect(parent.breakerStates.get(new URL(server.url).origin)).toBe('open');
    expect(isCircuitOpenError(await rejectionOf(parent.fetch('/y')))).toBe(true);
    expect(isCircuitOpenError(await rejectionOf(child.fetch('/y')))).toBe(true);
    expect(child.name).toBe(parent.name);
    expect(child.events).toBe(parent.events);
  });

  it("sends the token only to the parent's origins, whatever the derived baseUrl", async () => {
    const api = await h.server();
    const elsewhere = await h.server();
    const parent = h.client(api.url, {
      auth: clientCredentials({ tokenUrl: idp.url, clientId: 'w', clientSecret: 's' }),
    });
    const child = parent.extend({ baseUrl: `${elsewhere.url}/v2/` });
    const sameOrigin = parent.extend({ baseUrl: `${api.url}/reports/` });

    await (await child.fetch('items')).text();
    await (await sameOrigin.fetch('daily')).text();

    expect(elsewhere.requests.map((r) => r.path)).toEqual(['/v2/items']);
    expect(elsewhere.requests[0]?.headers.authorization).toBeUndefined();
    expect(api.requests.map((r) => r.path)).toEqual(['/reports/daily']);
    expect(api.requests[0]?.headers.authorization).toMatch(/^Bearer ext/);
  });
});

describe('the defaults it changes', () => {
  it("merges its headers over its parent's (its own win) and a call's over both", async () => {
    const server = await h.server();
    const parent = h.client(server.url, { headers: { 'user-agent': 'w/1', 'x-a': 'parent' } });
    const child = parent.extend({ headers: { 'X-A': 'child', 'x-b': 'child' } });

    await (await child.fetch('/', { headers: { 'x-b': 'call' } })).text();

    expect(server.requests[0]?.headers).toMatchObject({
      'user-agent': 'w/1',
      'x-a': 'child',
      'x-b': 'call',
    });
  });

  it("runs its hooks after its parent's, and leaves the parent's calls alone", async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }, { status: 200 }]);
    const order: string[] = [];
    const parent = h.client(server.url, {
      hooks: { beforeRequest: () => void order.push('parent') },
    });
    const child = parent.extend({
      hooks: {
        beforeRequest: () => void order.push('child'),
        beforeRetry: () => void order.push('child retry'),
      },
    });

    await (await child.fetch('/')).text();
    await (await parent.fetch('/')).text();

    expect(order).toEqual(['parent', 'child', 'child retry', 'parent', 'child', 'parent']);
  });

  it('retries as it says, merged over its parent; a call still changes it', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const parent = h.client(server.url, { retry: { ...FAST_RETRY, maxRetries: 3 } });
    const child = parent.extend({ retry: { maxRetries: 1 } });
    const noRetries = parent.extend({ retry: false });

    await (await child.fetch('/child')).text();
    await (await noRetries.fetch('/none')).text();
    await (await child.fetch('/call', { retry: { maxRetries: 2 } })).text();
    await (await parent.fetch('/parent')).text();

    const count = (path: string) => server.requests.filter((r) => r.path === path).length;
    expect([count('/child'), count('/none'), count('/call'), count('/parent')]).toEqual([
      2, 1, 3, 4,
    ]);
  });

  it("has its own timeouts, longer than its parent's too", async () => {
    const server = await h.server((request) =>
      request.path === '/slow' ? { status: 200, body: 'late', delayMs: 400 } : 'hang',
    );
    const parent = h.client(server.url, { totalTimeoutMs: 200, attemptTimeoutMs: 200 });
    const patient = parent.extend({ totalTimeoutMs: 5_000, attemptTimeoutMs: 2_000 });
    const hasty = parent.extend({ attemptTimeoutMs: 50, retry: false });

    expect(await (await patient.fetch('/slow')).text()).toBe('late');
    expect(isTimeoutError(await rejectionOf(parent.fetch('/slow')))).toBe(true);
    const error = (await rejectionOf(hasty.fetch('/hang'))) as TimeoutError;
    expect(error).toMatchObject({ kind: 'attempt', timeoutMs: 50 });
    expect(error.message).toContain("the client's attemptTimeoutMs");
  });

  it("bounds its parent's attempt timeout by its own shorter deadline", async () => {
    const server = await h.server(['hang']);
    const parent = h.client(server.url, { totalTimeoutMs: 5_000, attemptTimeoutMs: 2_000 });
    const quick = parent.extend({ totalTimeoutMs: 150, retry: false });

    const error = (await rejectionOf(quick.fetch('/hang'))) as TimeoutError;
    expect(error).toMatchObject({ kind: 'total', timeoutMs: 150 });
  });

  it('reads bodies whole up to its own maxResponseBytes', async () => {
    const server = await h.server(() => ({ status: 200, body: 'x'.repeat(2_000) }));
    const parent = h.client(server.url);
    const child = parent.extend({ maxResponseBytes: 1_000 });

    expect(await (await parent.request('/')).body.text()).toHaveLength(2_000);
    expect(await rejectionOf((await child.request('/')).body.text())).toMatchObject({
      code: 'ERR_STEADFAST_RESPONSE_TOO_LARGE',
    });
  });
});

describe('its options', () => {
  it.each([
    [{ name: 'other' }, 'name', /is the parent's/],
    [{ auth: {} }, 'auth', /is the parent's/],
    [{ authOrigins: ['http://x'] }, 'authOrigins', /is the parent's/],
    [{ circuitBreaker: false }, 'circuitBreaker', /is the parent's/],
    [{ retry: { maxRetries: -1 } }, 'retry.maxRetries', /must be ≥ 0/],
    [{ attemptTimeoutMs: 20_000 }, 'attemptTimeoutMs', /≤ totalTimeoutMs/],
    [{ headers: { 'content-length': '1' } }, 'headers', /content-length/i],
    [{ baseUrl: 'ftp://x' }, 'baseUrl', /./],
    [{ colour: 'red' }, 'colour', /unknown option/],
  ])('rejects %o naming %s', async (options, field, rule) => {
    const server = await h.server();
    const parent = h.client(server.url, { totalTimeoutMs: 10_000 });

    let error: unknown;
    try {
      parent.extend(options as never);
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).field.startsWith(field)).toBe(true);
    expect((error as Error).message).toMatch(rule);
  });
});

describe('closing', () => {
  it('the parent closes its derived clients: their new and in-flight calls end with ClientClosedError', async () => {
    const server = await h.server(['hang']);
    const parent = h.client(server.url);
    const child = parent.extend({ headers: { 'x-a': '1' } });
    const inFlight = rejectionOf(child.fetch('/hang'));
    await sleep(50);

    await parent.close();

    expect(isClientClosedError(await inFlight)).toBe(true);
    expect(isClientClosedError(await rejectionOf(child.fetch('/')))).toBe(true);
    expect(() => child.extend({})).toThrow(/closed/);
  });

  it("a derived client's close ends its own calls only: the parent's go on, over the same pool", async () => {
    const server = await h.server((request) =>
      request.path === '/hang' ? 'hang' : { status: 200, body: 'ok', delayMs: 150 },
    );
    const parent = h.client(server.url);
    const child = parent.extend({ headers: { 'x-a': '1' } });
    const grandchild = child.extend({});
    const childCall = rejectionOf(child.fetch('/hang'));
    const grandchildCall = rejectionOf(grandchild.getJson('/hang'));
    const parentCall = parent.fetch('/slow');
    await sleep(50);

    await child.close();

    expect(isClientClosedError(await childCall)).toBe(true);
    expect(isClientClosedError(await grandchildCall)).toBe(true);
    expect(isClientClosedError(await rejectionOf(grandchild.fetch('/')))).toBe(true);
    expect(await (await parentCall).text()).toBe('ok');
    expect(await (await parent.fetch('/again')).text()).toBe('ok');
  });

  it('close({ graceMs }) of a derived client lets its calls finish first', async () => {
    const server = await h.server(() => ({ status: 200, body: '"done"', delayMs: 100 }));
    const parent = h.client(server.url);
    const child = parent.extend({});
    const call = child.getJson('/', { parse: (body) => `${String(body)}, parsed` });

    await child.close({ graceMs: 2_000 });

    expect(await call).toBe('done, parsed');
  });
});

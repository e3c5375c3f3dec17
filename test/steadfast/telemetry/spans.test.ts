import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/client-credentials.js';
import { createClient } from '../../../packages/steadfast/src/index.js';
import { closedPort } from '../../helpers/http-server.js';
import { FAST_RETRY, parentIdOf, useTelemetryHarness } from './support.js';

const h = useTelemetryHarness();
const { server, onCleanup } = h;
const tokenServer = () => h.tokenServer('tok-spans');

function client(baseUrl: string, extra: Record<string, unknown> = {}) {
  const c = createClient({
    name: 'weather',
    baseUrl,
    retry: FAST_RETRY,
    telemetry: { tracing: { tracerProvider: h.tracing.provider }, metrics: false },
    ...extra,
  } as Parameters<typeof createClient>[0]);
  onCleanup(() => c.close());
  return c;
}

const byStart = (a: ReadableSpan, b: ReadableSpan) =>
  a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1];

describe('spans of a call that meets 503, then 401, then 200', () => {
  it('give one INTERNAL call span and three CLIENT attempt spans with resend counts absent, 1, 2', async () => {
    const api = await server([
      { status: 503 },
      { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
      { status: 200, body: 'sunny' },
    ]);
    const idp = await tokenServer();
    const auth = clientCredentials({
      tokenUrl: idp.url,
      clientId: 'worker',
      clientSecret: 's3cr3t',
    });
    const weather = client(api.url, { auth });

    const res = await weather.fetch('/forecast?city=Oslo', { operation: 'GET /forecast' });
    expect(await res.text()).toBe('sunny');

    const spans = h.tracing.spans();
    const calls = spans.filter(
      (s) => s.kind === SpanKind.INTERNAL && s.name === 'weather GET /forecast',
    );
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    const attempts = spans
      .filter((s) => s.kind === SpanKind.CLIENT && s.attributes['server.port'] === api.port)
      .sort(byStart);
    expect(attempts).toHaveLength(3);
    for (const attempt of attempts) {
      expect(attempt.name).toBe('GET');
      expect(parentIdOf(attempt)).toBe(call.spanContext().spanId);
      expect(attempt.spanContext().traceId).toBe(call.spanContext().traceId);
      expect(attempt.attributes['http.request.method']).toBe('GET');
      expect(attempt.attributes['server.address']).toBe('127.0.0.1');
      expect(attempt.attributes['server.port']).toBe(api.port);
      expect(attempt.attributes['url.full']).toBe(`${api.url}/forecast?city=REDACTED`);
      expect(attempt.attributes['network.protocol.version']).toBe('1.1');
    }
    expect(attempts.map((a) => a.attributes['http.request.resend_count'])).toEqual([
      undefined,
      1,
      2,
    ]);
    expect(attempts.map((a) => a.attributes['http.response.status_code'])).toEqual([503, 401, 200]);
    expect(attempts.map((a) => a.attributes['error.type'])).toEqual(['503', '401', undefined]);
    expect(attempts.map((a) => a.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
      SpanStatusCode.UNSET,
    ]);

    expect(call.attributes['steadfast.client']).toBe('weather');
    expect(call.attributes['steadfast.attempts']).toBe(3);
    expect(call.attributes['steadfast.outcome']).toBe('success');
    expect(call.attributes['error.type']).toBeUndefined();
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(call.attributes['http.request.method']).toBe('GET');
    expect(call.attributes['server.port']).toBe(api.port);

    const events = call.events.map((e) => e.name);
    expect(events).toEqual(['steadfast.retry', 'steadfast.reauthorize']);
    const retry = call.events[0]!;
    expect(retry.attributes).toMatchObject({
      'steadfast.retry.attempt': 1,
      'error.type': '503',
      'steadfast.retry.delay_source': 'backoff',
    });
    const reauth = call.events[1]!;
    expect(reauth.attributes).toMatchObject({
      'steadfast.reauthorize.resent': true,
      'steadfast.token.newer_present': false,
    });
    expect(typeof reauth.attributes?.['steadfast.token.rejected_fingerprint']).toBe('string');

    // Two token fetches (cold start, then after the 401), both children of the call.
    const fetches = spans.filter((s) => s.name === 'worker token fetch').sort(byStart);
    expect(fetches.map((f) => f.attributes['steadfast.token.trigger'])).toEqual([
      'cold',
      'reauthorize',
    ]);
    for (const f of fetches) {
      expect(f.kind).toBe(SpanKind.INTERNAL);
      expect(parentIdOf(f)).toBe(call.spanContext().spanId);
      expect(f.attributes['steadfast.token.result']).toBe('success');
      // Each with its token-endpoint POST as the only child.
      const children = spans.filter((s) => parentIdOf(s) === f.spanContext().spanId);
      expect(children.map((c) => [c.kind, c.name])).toEqual([[SpanKind.CLIENT, 'POST']]);
    }
    // Five CLIENT spans in all: three attempts, two token requests.
    expect(spans.filter((s) => s.kind === SpanKind.CLIENT)).toHaveLength(5);
  });

  it('send each attempt a traceparent whose span id is that attempt span', async () => {
    const api = await server([{ status: 503 }, { status: 502 }, { status: 200 }]);
    const weather = client(api.url);

    await weather.fetch('/forecast');

    const attempts = h.tracing
      .spans()
      .filter((s) => s.kind === SpanKind.CLIENT)
      .sort(byStart);
    expect(attempts).toHaveLength(3);
    expect(api.requests).toHaveLength(3);
    api.requests.forEach((request, i) => {
      const traceparent = request.headers.traceparent;
      expect(traceparent).toBe(
        `00-${attempts[i]!.spanContext().traceId}-${attempts[i]!.spanContext().spanId}-01`,
      );
    });
  });

  it("are children of the caller's active span", async () => {
    const api = await server([{ status: 200 }]);
    const weather = client(api.url);
    const tracer = h.tracing.provider.getTracer('app');

    await tracer.startActiveSpan('handle request', async (parent) => {
      await weather.fetch('/forecast');
      parent.end();
    });

    const spans = h.tracing.spans();
    const parent = spans.find((s) => s.name === 'handle request')!;
    const call = spans.find((s) => s.name === 'weather GET')!;
    expect(parentIdOf(call)).toBe(parent.spanContext().spanId);
    expect(call.spanContext().traceId).toBe(parent.spanContext().traceId);
  });
});

describe('span status', () => {
  it('is unset, without error.type, when the caller aborts', async () => {
    const api = await server(['hang']);
    const weather = client(api.url);
    const controller = new AbortController();

    const pending = weather.fetch('/slow', { signal: controller.signal });
    await api.waitForRequests(1);
    controller.abort();
    await expect(pending).rejects.toThrow();

    const spans = h.tracing.spans();
    const call = spans.find((s) => s.kind === SpanKind.INTERNAL)!;
    const attempt = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    for (const span of [call, attempt]) {
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      expect(span.attributes['error.type']).toBeUndefined();
    }
    expect(call.attributes['steadfast.outcome']).toBe('aborted');
  });

  it('is Error with error.type "timeout" when the SDK\'s attempt timeout fires, and records the timeout event', async () => {
    const api = await server(['hang']);
    const weather = client(api.url, { attemptTimeoutMs: 50, totalTimeoutMs: 5_000, retry: false });

    await expect(weather.fetch('/slow')).rejects.toThrow(/timeout/);

    const spans = h.tracing.spans();
    const call = spans.find((s) => s.kind === SpanKind.INTERNAL)!;
    const attempt = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(attempt.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempt.attributes['error.type']).toBe('timeout');
    expect(call.status.code).toBe(SpanStatusCode.ERROR);
    expect(call.attributes['error.type']).toBe('timeout');
    const timeout = call.events.find((e) => e.name === 'steadfast.timeout');
    expect(timeout?.attributes?.['steadfast.timeout.kind']).toBe('attempt');
  });

  it('is Error with the error code for a refused connection', async () => {
    const port = await closedPort();
    const weather = client(`http://127.0.0.1:${port}`, { retry: false });

    await expect(weather.fetch('/x')).rejects.toThrow();

    const attempt = h.tracing.spans().find((s) => s.kind === SpanKind.CLIENT)!;
    expect(attempt.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempt.attributes['error.type']).toBe('ECONNREFUSED');
    expect(attempt.attributes['http.response.status_code']).toBeUndefined();
  });
});

describe('token fetch spans', () => {
  it('link every call that waited on a fetch in flight to that fetch', async () => {
    const api = await server([]);
    const idp = await h.tokenServer('tok-coalesce', 100);
    const auth = clientCredentials({ tokenUrl: idp.url, clientId: 'linker', clientSecret: 'x' });
    const weather = client(api.url, { auth });

    await Promise.all([weather.fetch('/a'), weather.fetch('/b'), weather.fetch('/c')]);

    const spans = h.tracing.spans();
    const fetches = spans.filter((s) => s.name === 'linker token fetch');
    expect(fetches).toHaveLength(1);
    expect(idp.issued).toHaveLength(1);
    const fetch = fetches[0]!;
    const calls = spans.filter((s) => s.kind === SpanKind.INTERNAL && s.name === 'weather GET');
    expect(calls).toHaveLength(3);
    const parent = calls.find((c) => c.spanContext().spanId === parentIdOf(fetch));
    expect(parent).toBeDefined();
    const waiters = calls.filter((c) => c !== parent);
    for (const waiter of waiters) {
      expect(waiter.links.map((l) => l.context.spanId)).toEqual([fetch.spanContext().spanId]);
    }
    expect(fetch.attributes['steadfast.token.waiters']).toBe(2);
  });
});

describe('token-endpoint request span', () => {
  /** Every attribute of every span, event and link, as one string. */
  const everything = (spans: ReadableSpan[]) =>
    JSON.stringify(
      spans.map((s) => [
        s.name,
        s.attributes,
        s.events.map((e) => [e.name, e.attributes]),
        s.links.map((l) => l.attributes),
      ]),
    );

  it('is the one CLIENT child of the fetch span: POST, the endpoint without its query, status 200, nothing secret', async () => {
    const api = await server([]);
    const idp = await tokenServer();
    const secret = 'cs-8d1f0a77e2';
    const auth = clientCredentials({
      tokenUrl: `${idp.url}?tenant=acme`,
      clientId: 'poster',
      clientSecret: secret,
    });
    const weather = client(api.url, { auth });

    await (await weather.fetch('/forecast')).text();

    const spans = h.tracing.spans();
    const fetches = spans.filter((s) => s.name === 'poster token fetch');
    expect(fetches).toHaveLength(1);
    const fetch = fetches[0]!;
    const children = spans.filter((s) => parentIdOf(s) === fetch.spanContext().spanId);
    expect(children).toHaveLength(1);
    const post = children[0]!;
    expect(post.kind).toBe(SpanKind.CLIENT);
    expect(post.name).toBe('POST');
    expect(post.instrumentationScope.name).toBe('steadfast');
    expect(post.spanContext().traceId).toBe(fetch.spanContext().traceId);
    expect(post.attributes).toEqual({
      'http.request.method': 'POST',
      'server.address': '127.0.0.1',
      'server.port': idp.port,
      'url.full': idp.url,
      'http.response.status_code': 200,
    });
    expect(post.status.code).toBe(SpanStatusCode.UNSET);
    // Exactly one CLIENT span for the token endpoint, and it is that child.
    const toIdp = spans.filter(
      (s) => s.kind === SpanKind.CLIENT && s.attributes['server.port'] === idp.port,
    );
    expect(toIdp).toEqual([post]);

    // The secret and the token really travelled, and no span carries them.
    expect(idp.issued).toHaveLength(1);
    const basic = Buffer.from(`poster:${secret}`).toString('base64');
    expect(idp.authorizations).toEqual([`Basic ${basic}`]);
    expect(api.requests[0]?.headers.authorization).toBe(`Bearer ${idp.issued[0]}`);
    const text = everything(spans);
    expect(text).toContain('poster token fetch');
    for (const needle of [secret, basic, idp.issued[0]!, 'tenant', 'acme']) {
      expect(text.includes(needle), `found ${needle}`).toBe(false);
    }
  });

  it('is Error with the status as error.type when the token endpoint rejects the client', async () => {
    const api = await server([]);
    const idp = await server([
      {
        status: 401,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'invalid_client' }),
      },
    ]);
    const auth = clientCredentials({
      tokenUrl: `${idp.url}/token`,
      clientId: 'rejected',
      clientSecret: 'wrong-secret-31f9',
    });
    const weather = client(api.url, { auth });

    await expect(weather.fetch('/forecast')).rejects.toThrow();

    const spans = h.tracing.spans();
    const fetch = spans.find((s) => s.name === 'rejected token fetch')!;
    expect(fetch.attributes['error.type']).toBe('invalid_client');
    const children = spans.filter((s) => parentIdOf(s) === fetch.spanContext().spanId);
    expect(children).toHaveLength(1);
    const post = children[0]!;
    expect(post.kind).toBe(SpanKind.CLIENT);
    expect(post.attributes['server.port']).toBe(idp.port);
    expect(post.attributes['http.response.status_code']).toBe(401);
    expect(post.attributes['error.type']).toBe('401');
    expect(post.status.code).toBe(SpanStatusCode.ERROR);
    expect(everything(spans).includes('wrong-secret-31f9')).toBe(false);
  });

  it('is Error with the error code, and no status code, when the token endpoint is unreachable', async () => {
    const port = await closedPort();
    const api = await server([]);
    const auth = clientCredentials({
      tokenUrl: `http://127.0.0.1:${port}/token`,
      clientId: 'unreachable',
      clientSecret: 'x',
    });
    const weather = client(api.url, { auth });

    await expect(weather.fetch('/forecast')).rejects.toThrow();

    const spans = h.tracing.spans();
    const fetch = spans.find((s) => s.name === 'unreachable token fetch')!;
    expect(fetch.attributes['error.type']).toBe('ECONNREFUSED');
    const post = spans.find((s) => parentIdOf(s) === fetch.spanContext().spanId)!;
    expect(post.kind).toBe(SpanKind.CLIENT);
    expect(post.attributes['server.port']).toBe(port);
    expect(post.attributes['error.type']).toBe('ECONNREFUSED');
    expect(post.attributes['http.response.status_code']).toBeUndefined();
    expect(post.status.code).toBe(SpanStatusCode.ERROR);
    expect(api.requests).toHaveLength(0);
  });
});

describe('tracing off', () => {
  it('creates no span and injects no traceparent', async () => {
    const api = await server([{ status: 200 }]);
    const c = createClient({
      name: 'quiet',
      baseUrl: api.url,
      telemetry: { tracing: false, metrics: false },
    });
    onCleanup(() => c.close());

    await trace.getTracer('x').startActiveSpan('outer', async (s) => {
      await c.fetch('/');
      s.end();
    });

    expect(h.tracing.spans().filter((s) => s.name.startsWith('quiet'))).toHaveLength(0);
    expect(api.requests[0]?.headers.traceparent).toBeUndefined();
  });
});

describe('a client built before the app registers its tracer provider', () => {
  it('sends no traceparent and makes no span while none is registered, and traces from the first call after one is', async () => {
    const api = await server([{ status: 200 }, { status: 200 }]);
    // No tracerProvider option: the client reads the API's global (proxy) provider.
    const c = createClient({ name: 'late', baseUrl: api.url, telemetry: { metrics: false } });
    onCleanup(() => c.close());

    await (await c.fetch('/a')).text();
    expect(api.requests[0]!.headers.traceparent).toBeUndefined();
    expect(h.tracing.spans()).toHaveLength(0);

    expect(trace.setGlobalTracerProvider(h.tracing.provider)).toBe(true);
    onCleanup(async () => trace.disable());
    await (await c.fetch('/b')).text();
    const spans = h.tracing.spans();
    expect(spans.map((s) => s.name).sort()).toEqual(['GET', 'late GET']);
    const attempt = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(api.requests[1]!.headers.traceparent).toContain(attempt.spanContext().spanId);
    expect(attempt.attributes['url.full']).toBe(`${api.url}/b`);
  });

  it('continues a trace the caller made active, even with no provider registered', async () => {
    const api = await server([{ status: 200 }]);
    const c = createClient({ name: 'cont', baseUrl: api.url, telemetry: { metrics: false } });
    onCleanup(() => c.close());
    const parent = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    await context.with(trace.setSpan(context.active(), parent), async () => {
      await (await c.fetch('/a')).text();
    });
    expect(api.requests[0]!.headers.traceparent).toContain('0af7651916cd43dd8448eb211c80319c');
  });
});

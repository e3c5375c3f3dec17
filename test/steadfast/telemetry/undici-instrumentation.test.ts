import { SpanKind } from '@opentelemetry/api';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/client-credentials.js';
import { createClient } from '../../../packages/steadfast/src/index.js';
import { type ScriptedServer, startScriptedServer } from '../../helpers/http-server.js';
import { setUpTracing, startTokenServer, type TokenServer, type Tracing } from './support.js';

let tracing: Tracing;
let instrumentation: UndiciInstrumentation;
let api: ScriptedServer;
let idp: TokenServer;

beforeAll(async () => {
  tracing = setUpTracing({ global: true });
  instrumentation = new UndiciInstrumentation();
  instrumentation.setTracerProvider(tracing.provider);
  instrumentation.enable();
  api = await startScriptedServer([]);
  idp = await startTokenServer('tok-undici');
});

afterAll(async () => {
  instrumentation.disable();
  await api.close();
  await idp.close();
});

const toApi = (s: ReadableSpan) =>
  s.kind === SpanKind.CLIENT && s.attributes['server.port'] === api.port;

describe('with the OpenTelemetry undici instrumentation registered', () => {
  it('is really active: a plain undici request outside the SDK gets its CLIENT span', async () => {
    tracing.reset();
    const res = await request(`${api.url}/plain`);
    await res.body.text();

    const spans = tracing.spans().filter(toApi);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.instrumentationScope.name).toBe('@opentelemetry/instrumentation-undici');
  });

  it("a call with 503, 401, 200 still has exactly one CLIENT span per attempt, and the server sees the SDK's", async () => {
    tracing.reset();
    api.setScript([
      { status: 503 },
      { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
      { status: 200 },
    ]);
    const auth = clientCredentials({ tokenUrl: idp.url, clientId: 'worker', clientSecret: 'x' });
    const client = createClient({
      name: 'weather',
      baseUrl: api.url,
      auth,
      retry: { maxRetries: 3, backoff: 'constant', jitter: false, baseDelayMs: 1, budget: false },
      telemetry: { metrics: false },
    });
    try {
      await client.fetch('/forecast');
    } finally {
      await client.close();
    }

    const attempts = tracing.spans().filter(toApi);
    expect(attempts).toHaveLength(3);
    expect(attempts.every((s) => s.instrumentationScope.name === 'steadfast')).toBe(true);
    const ids = new Set(attempts.map((s) => s.spanContext().spanId));
    const sent = api.requests.slice(-3).map((r) => String(r.headers.traceparent).split('-')[2]);
    expect(sent.every((id) => ids.has(id))).toBe(true);
    // One traceparent per request: the instrumentation did not append a second one.
    for (const r of api.requests.slice(-3))
      expect(String(r.headers.traceparent)).not.toContain(',');
  });

  it("the token-endpoint POST has exactly one CLIENT span, the SDK's, child of the fetch span", async () => {
    tracing.reset();
    api.setScript([{ status: 200 }]);
    const before = idp.headers.length;
    const auth = clientCredentials({ tokenUrl: idp.url, clientId: 'poster', clientSecret: 'x' });
    const client = createClient({
      name: 'weather',
      baseUrl: api.url,
      auth,
      telemetry: { metrics: false },
    });
    try {
      await client.fetch('/forecast');
    } finally {
      await client.close();
    }

    expect(idp.headers.length).toBe(before + 1);
    const spans = tracing.spans();
    const toIdp = spans.filter(
      (s) => s.kind === SpanKind.CLIENT && s.attributes['server.port'] === idp.port,
    );
    expect(toIdp).toHaveLength(1);
    const post = toIdp[0]!;
    expect(post.instrumentationScope.name).toBe('steadfast');
    expect(post.name).toBe('POST');
    expect(post.attributes['http.response.status_code']).toBe(200);
    const fetch = spans.find((s) => s.name === 'poster token fetch')!;
    expect(post.parentSpanContext?.spanId).toBe(fetch.spanContext().spanId);
    // The instrumentation did not run for it: it would have injected its own traceparent.
    expect(idp.headers.at(-1)?.traceparent).toBeUndefined();
    // And it is still active for everything else: one CLIENT span for the API attempt.
    expect(spans.filter(toApi)).toHaveLength(1);
  });
});

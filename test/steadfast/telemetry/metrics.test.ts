import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import express from 'express';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/client-credentials.js';
import { createClient } from '../../../packages/steadfast/src/index.js';
import {
  FAMILY_NAMES,
  type MetricsRegistry,
  metricsRouter,
  renderMetrics,
} from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import { PACKAGE_VERSION } from '../../../packages/steadfast/src/telemetry/version.js';
import { promtoolCheckMetrics } from '../../helpers/prometheus.js';
import { FAST_RETRY, parseExposition, sampleValue, useTelemetryHarness } from './support.js';

const h = useTelemetryHarness();
const { server, onCleanup, tokenServer } = h;

function client(baseUrl: string, registry: MetricsRegistry, extra: Record<string, unknown> = {}) {
  const c = createClient({
    name: 'weather',
    baseUrl,
    retry: FAST_RETRY,
    telemetry: { tracing: { tracerProvider: h.tracing.provider }, metrics: { registry } },
    ...extra,
  } as Parameters<typeof createClient>[0]);
  onCleanup(() => c.close());
  return c;
}

describe('metrics of a scripted run', () => {
  it('count a 503 then 200 call as one successful_with_retry call and one 503 retry', async () => {
    const registry = createOpenMetricsRegistry();
    const api = await server([{ status: 503 }, { status: 200 }]);
    const weather = client(api.url, registry);

    await (await weather.fetch('/forecast?city=Oslo')).text();

    const samples = parseExposition(await renderMetrics(registry, 'text'));
    const attempt = 'http_client_request_duration_seconds_count';
    const common = {
      client: 'weather',
      http_request_method: 'GET',
      server_address: '127.0.0.1',
      server_port: String(api.port),
    };
    expect(
      sampleValue(samples, 'steadfast_calls_total', {
        client: 'weather',
        kind: 'successful_with_retry',
      }),
    ).toBe(1);
    expect(samples.filter((s) => s.name === 'steadfast_calls_total')).toHaveLength(1);
    expect(
      sampleValue(samples, 'steadfast_retries_total', { client: 'weather', reason: '503' }),
    ).toBe(1);
    expect(
      sampleValue(samples, attempt, {
        ...common,
        http_response_status_code: '503',
        error_type: '503',
      }),
    ).toBe(1);
    const ok = samples.filter(
      (s) => s.name === attempt && s.labels.http_response_status_code === '200',
    );
    expect(ok).toHaveLength(1);
    expect(ok[0]!.value).toBe(1);
    expect(ok[0]!.labels).toEqual({ ...common, http_response_status_code: '200' });
    expect(
      sampleValue(samples, 'steadfast_call_duration_seconds_count', {
        client: 'weather',
        outcome: 'success',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_retry_delay_seconds_total', {
        client: 'weather',
        source: 'backoff',
      }),
    ).toBeGreaterThan(0);
    expect(
      sampleValue(samples, 'steadfast_events_total', {
        client: 'weather',
        strategy: 'retry',
        event: 'retry',
        severity: 'warning',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_circuit_breaker_state', {
        client: 'weather',
        state: 'closed',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_circuit_breaker_state', { client: 'weather', state: 'open' }),
    ).toBe(0);
    expect(sampleValue(samples, 'steadfast_build_info', { version: PACKAGE_VERSION })).toBe(1);
    // Bucket boundaries are the contract's B.
    const les = samples
      .filter(
        (s) =>
          s.name === 'http_client_request_duration_seconds_bucket' && s.labels.error_type === '503',
      )
      .map((s) => s.labels.le);
    expect(les).toEqual([
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.075',
      '0.1',
      '0.25',
      '0.5',
      '0.75',
      '1',
      '2.5',
      '5',
      '7.5',
      '10',
      '+Inf',
    ]);
    const callLes = samples
      .filter((s) => s.name === 'steadfast_call_duration_seconds_bucket')
      .map((s) => s.labels.le);
    expect(callLes.slice(-4)).toEqual(['15', '30', '60', '+Inf']);
  });

  it('declare every family of the contract, with HELP and TYPE, in both formats', async () => {
    const registry = createOpenMetricsRegistry();
    const api = await server();
    client(api.url, registry);

    const text = await renderMetrics(registry, 'text');
    const om = await renderMetrics(registry, 'openmetrics');
    for (const name of FAMILY_NAMES) {
      const family = name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
      expect(om).toContain(`# TYPE ${family} `);
      expect(om).toContain(`# HELP ${family} `);
      expect(text).toMatch(new RegExp(`^# TYPE (${name}|${family}) `, 'm'));
    }
    expect(om.endsWith('# EOF\n')).toBe(true);
  });

  it('count token fetches, lookups and invalidations once per token manager, however many clients share it', async () => {
    const registry = createOpenMetricsRegistry();
    const api = await server([
      { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
      { status: 200 },
    ]);
    const idp = await tokenServer('tok-metrics');
    const auth = clientCredentials({
      tokenUrl: idp.url,
      clientId: 'worker',
      clientSecret: 'x',
      credential: 'weather-api',
    });
    const first = client(api.url, registry, { auth });
    const second = client(api.url, registry, { auth, name: 'weather-2' });

    await (await first.fetch('/a')).text();
    await (await second.fetch('/b')).text();

    const samples = parseExposition(await renderMetrics(registry, 'text'));
    expect(idp.issued).toHaveLength(2);
    expect(
      sampleValue(samples, 'steadfast_token_fetches_total', {
        credential: 'weather-api',
        result: 'success',
      }),
    ).toBe(2);
    expect(
      sampleValue(samples, 'steadfast_token_fetch_duration_seconds_count', {
        credential: 'weather-api',
        result: 'success',
      }),
    ).toBe(2);
    expect(
      sampleValue(samples, 'steadfast_token_invalidations_total', {
        credential: 'weather-api',
        result: 'deleted',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_retries_total', { client: 'weather', reason: '401' }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_calls_total', {
        client: 'weather',
        kind: 'successful_with_retry',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_calls_total', {
        client: 'weather-2',
        kind: 'successful_without_retry',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_token_cache_lookups_total', {
        credential: 'weather-api',
        level: 'local',
        result: 'hit',
      }),
    ).toBeGreaterThanOrEqual(1);
    const expiry = sampleValue(samples, 'steadfast_token_expiry_timestamp_seconds', {
      credential: 'weather-api',
    })!;
    expect(expiry).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(expiry).toBeLessThanOrEqual(Date.now() / 1000 + 3600);
  });

  it('carry trace_id/span_id exemplars of the sampled spans in OpenMetrics only', async () => {
    const registry = createOpenMetricsRegistry();
    const api = await server([{ status: 200 }]);
    const weather = client(api.url, registry);

    await (await weather.fetch('/forecast')).text();

    const spans = h.tracing.spans();
    const attemptSpan = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    const callSpan = spans.find((s) => s.kind === SpanKind.INTERNAL)!;
    const om = parseExposition(await renderMetrics(registry, 'openmetrics'));
    const attemptExemplars = om.filter(
      (s) => s.name === 'http_client_request_duration_seconds_bucket' && s.exemplar,
    );
    expect(attemptExemplars).toHaveLength(1);
    expect(attemptExemplars[0]!.exemplar).toMatch(
      new RegExp(
        `^\\{trace_id="${attemptSpan.spanContext().traceId}",span_id="${attemptSpan.spanContext().spanId}"\\} [0-9.e-]+ [0-9.]+$`,
      ),
    );
    const callExemplars = om.filter(
      (s) => s.name === 'steadfast_call_duration_seconds_bucket' && s.exemplar,
    );
    expect(callExemplars).toHaveLength(1);
    expect(callExemplars[0]!.exemplar).toContain(`span_id="${callSpan.spanContext().spanId}"`);

    const text = await renderMetrics(registry, 'text');
    expect(text).not.toContain('trace_id');
  });

  it('keep counter names ending in _total in the text format after an OpenMetrics scrape', async () => {
    const registry = createOpenMetricsRegistry();
    const api = await server([{ status: 200 }]);
    await (await client(api.url, registry).fetch('/')).text();

    await registry.metrics(); // prom-client's own OpenMetrics render renames counters in place
    await renderMetrics(registry, 'openmetrics');
    const text = await renderMetrics(registry, 'text');

    expect(text).toMatch(/^steadfast_calls_total\{/m);
    expect(text).toMatch(/^# TYPE steadfast_calls_total counter$/m);
  });

  it("apply the registry's default labels in both formats", async () => {
    const registry = createOpenMetricsRegistry();
    registry.setDefaultLabels({ region: 'eu-1' });
    const api = await server([{ status: 200 }]);
    await (await client(api.url, registry).fetch('/')).text();

    for (const format of ['text', 'openmetrics'] as const) {
      const samples = parseExposition(await renderMetrics(registry, format));
      expect(samples.length).toBeGreaterThan(0);
      expect(samples.every((s) => s.labels.region === 'eu-1')).toBe(true);
    }
  });

  it('work on a Prometheus-text registry the app passes in (no exemplars there)', async () => {
    const registry = new Registry();
    const api = await server([{ status: 200 }]);
    await (await client(api.url, registry).fetch('/')).text();

    const samples = parseExposition(await registry.metrics());
    expect(
      sampleValue(samples, 'steadfast_calls_total', { kind: 'successful_without_retry' }),
    ).toBe(1);
  });
});

describe('promtool check metrics', () => {
  it('accepts the real exposition of every SDK family after a run with retries, 401s, timeouts and tokens', async () => {
    const registry = createOpenMetricsRegistry();
    const api = await server([
      { status: 503 },
      { status: 401, headers: { 'www-authenticate': 'Bearer' } },
      { status: 200 },
      'hang',
    ]);
    const idp = await tokenServer('tok-promtool');
    const auth = clientCredentials({ tokenUrl: idp.url, clientId: 'worker', clientSecret: 'x' });
    const weather = client(api.url, registry, {
      auth,
      attemptTimeoutMs: 50,
      totalTimeoutMs: 2_000,
    });

    await (await weather.fetch('/a')).text();
    await weather.fetch('/b', { retry: false } as never).catch(() => {});

    const text = await renderMetrics(registry, 'text');
    const names = new Set(
      parseExposition(text).map((s) => s.name.replace(/_(bucket|sum|count)$/, '')),
    );
    for (const family of [
      'http_client_request_duration_seconds',
      'steadfast_token_fetches_total',
      'steadfast_events_total',
    ]) {
      expect(names.has(family)).toBe(true);
    }
    const { status, output } = promtoolCheckMetrics(text);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('is a real lint: it rejects a counter without _total (so the check above can fail)', () => {
    const { status } = promtoolCheckMetrics(
      '# HELP bad_counter a counter\n# TYPE bad_counter counter\nbad_counter 1\n',
    );
    expect(status).not.toBe(0);
  });
});

describe('metricsRouter on Express 5', () => {
  async function app(registry: MetricsRegistry, mount?: string): Promise<string> {
    const a = express();
    if (mount) a.use(mount, metricsRouter({ registry }));
    else a.use(metricsRouter({ registry }));
    const http: Server = a.listen(0, '127.0.0.1');
    await once(http, 'listening');
    onCleanup(
      () =>
        new Promise<void>((resolve) => {
          http.closeAllConnections();
          http.close(() => resolve());
        }),
    );
    return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  }

  it("serves OpenMetrics to Prometheus' Accept header and text 0.0.4 otherwise", async () => {
    const registry = createOpenMetricsRegistry();
    const api = await server([{ status: 200 }]);
    await (await client(api.url, registry).fetch('/')).text();
    const base = await app(registry);

    const prometheusAccept =
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    const om = await request(`${base}/metrics`, { headers: { accept: prometheusAccept } });
    expect(om.statusCode).toBe(200);
    expect(om.headers['content-type']).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    );
    const omBody = await om.body.text();
    expect(omBody).toMatch(
      /^steadfast_calls_total\{client="weather",kind="successful_without_retry"\} 1$/m,
    );
    expect(omBody.endsWith('# EOF\n')).toBe(true);

    for (const accept of [
      undefined,
      'text/plain',
      '*/*',
      'application/openmetrics-text;q=0.2,text/plain',
    ]) {
      const res = await request(`${base}/metrics`, { headers: accept ? { accept } : {} });
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      const body = await res.body.text();
      expect(body).not.toContain('# EOF');
      expect(body).toContain('steadfast_calls_total{');
    }
  });

  it('answers /healthz, HEAD, and lets other paths fall through to Express', async () => {
    const base = await app(createOpenMetricsRegistry(), '/ops');

    const health = await request(`${base}/ops/healthz`);
    expect(health.statusCode).toBe(200);
    expect(await health.body.json()).toEqual({ status: 'ok' });
    const head = await request(`${base}/ops/metrics`, { method: 'HEAD' });
    expect(head.statusCode).toBe(200);
    await head.body.text();
    const other = await request(`${base}/ops/other`);
    expect(other.statusCode).toBe(404);
    await other.body.text();
    const post = await request(`${base}/ops/metrics`, { method: 'POST' });
    expect(post.statusCode).toBe(404);
    await post.body.text();
  });
});

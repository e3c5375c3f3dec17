/**
 * The toolbox strategies' telemetry end to end: real clients with hedging, fallback, an
 * adaptive concurrency limit and adaptive throttling calling real loopback servers, read
 * back from a prom-client registry, a real OpenTelemetry `MeterProvider` and the in-memory
 * span exporter. (toolbox-telemetry.test.ts checks every figure from scripted events; this
 * file checks that the composition root subscribes them and the strategies' events reach
 * them as the contract says.)
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../../packages/steadfast/src/index.js';
import {
  type MetricsRegistry,
  renderMetrics,
} from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import { startScriptedServer } from '../../helpers/http-server.js';
import { parseExposition, type Sample, sampleValue, useTelemetryHarness } from './support.js';

const h = useTelemetryHarness();

type ClientOptions = Parameters<typeof createClient>[0];

function client(options: Partial<ClientOptions> & { baseUrl: string }, registry: MetricsRegistry) {
  const c = createClient({
    name: 'weather',
    retry: false,
    telemetry: { tracing: { tracerProvider: h.tracing.provider }, metrics: { registry } },
    ...options,
  } as ClientOptions);
  h.onCleanup(() => c.close());
  return c;
}

async function scrape(registry: MetricsRegistry): Promise<Sample[]> {
  return parseExposition(await renderMetrics(registry, 'text'));
}

const callSpans = (): ReadableSpan[] => h.tracing.spans().filter((s) => s.kind === 0);
const attemptSpans = (): ReadableSpan[] => h.tracing.spans().filter((s) => s.kind === 2);

describe('a client without the toolbox strategies', () => {
  it('has none of their series', async () => {
    const registry = createOpenMetricsRegistry();
    const api = await h.server();
    const weather = client({ baseUrl: api.url }, registry);
    await (await weather.fetch('/a')).text();
    const samples = await scrape(registry);
    expect(samples.filter((s) => /^steadfast_(hedge|fallback|adaptive_)/.test(s.name))).toEqual([]);
  });
});

describe('hedging', () => {
  it('counts the hedge, which attempt won and the cancelled one, and traces both attempts', async () => {
    const registry = createOpenMetricsRegistry();
    // The first request hangs; the hedge sent after 30 ms answers at once.
    const api = await h.server((_req, i) => (i === 0 ? 'hang' : { status: 200, body: 'ok' }));
    const weather = client({ baseUrl: api.url, hedging: { delayMs: 30 } }, registry);
    const res = await weather.fetch('/forecast');
    expect(await res.text()).toBe('ok');
    // The cancelled attempt ends (and reports) once its request is aborted.
    await expect.poll(() => attemptSpans().length, { timeout: 5_000 }).toBe(2);

    const samples = await scrape(registry);
    const address = new URL(api.url).hostname;
    expect(
      sampleValue(samples, 'steadfast_hedges_sent_total', {
        server_address: address,
        trigger: 'delay',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_hedged_calls_total', {
        server_address: address,
        winner: 'hedge',
      }),
    ).toBe(1);
    expect(sampleValue(samples, 'steadfast_hedges_cancelled_total')).toBe(1);
    expect(
      sampleValue(samples, 'http_client_request_duration_seconds_count', {
        error_type: 'cancelled',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_events_total', {
        strategy: 'hedging',
        event: 'hedge_sent',
      }),
    ).toBe(1);
    // Two wire attempts, one of them a hedge: a call without retry.
    expect(
      sampleValue(samples, 'steadfast_calls_total', { kind: 'successful_without_retry' }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_calls_total', { kind: 'successful_with_retry' }) ?? 0,
    ).toBe(0);

    const byIndex = new Map(attemptSpans().map((s) => [s.attributes['steadfast.hedge.index'], s]));
    expect([...byIndex.keys()].sort()).toEqual([0, 1]);
    expect(byIndex.get(0)!.attributes['error.type']).toBe('cancelled');
    expect(byIndex.get(0)!.status.code).toBe(0);
    expect(byIndex.get(1)!.attributes['http.response.status_code']).toBe(200);
    const [call] = callSpans();
    const names = call!.events.map((e) => e.name);
    expect(names).toEqual(['steadfast.hedge', 'steadfast.hedge.end']);
    expect(call!.events[1]!.attributes).toMatchObject({
      'steadfast.hedge.sent': 2,
      'steadfast.hedge.winner': 1,
      'steadfast.hedge.cancelled': 1,
    });
  });
});

describe('fallback', () => {
  it('counts a stale answer as kind fallback, observes its age and marks the call span', async () => {
    const registry = createOpenMetricsRegistry();
    const api = await h.server([
      { status: 200, body: '{"t":1}' },
      { status: 503 },
      { status: 503 },
    ]);
    const weather = client({ baseUrl: api.url, fallback: { on: ['server_error'] } }, registry);
    expect(await (await weather.fetch('/forecast')).text()).toBe('{"t":1}');
    const stale = await weather.fetch('/forecast');
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-steadfast-fallback')).toBe('stale');
    await stale.text();

    const samples = await scrape(registry);
    expect(sampleValue(samples, 'steadfast_calls_total', { kind: 'fallback' })).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_calls_total', { kind: 'successful_without_retry' }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_fallbacks_total', {
        kind: 'stale',
        trigger: '503',
        served: 'true',
      }),
    ).toBe(1);
    expect(sampleValue(samples, 'steadfast_fallback_stale_age_seconds_count')).toBe(1);

    const spans = callSpans();
    expect(spans.map((s) => s.attributes['steadfast.outcome'])).toEqual(['success', 'fallback']);
    expect(spans[1]!.attributes['steadfast.fallback.kind']).toBe('stale');
    expect(spans[1]!.attributes['steadfast.fallback.trigger']).toBe('503');
    expect(spans[1]!.events.map((e) => e.name)).toEqual(['steadfast.fallback']);
  });
});

describe('adaptive concurrency', () => {
  it('reports the limit per origin from its start, its bounds, and its moves on drops', async () => {
    const registry = createOpenMetricsRegistry();
    const api = await h.server(() => ({ status: 503 }));
    const weather = client(
      {
        baseUrl: api.url,
        concurrency: {
          adaptive: { algorithm: 'aimd', initialLimit: 10, minLimit: 2, maxLimit: 50 },
        },
      },
      registry,
    );
    const address = new URL(api.url).hostname;
    let samples = await scrape(registry);
    expect(
      sampleValue(samples, 'steadfast_adaptive_concurrency_limit', { server_address: address }),
    ).toBe(10);
    expect(
      sampleValue(samples, 'steadfast_adaptive_concurrency_limit_bound', { bound: 'min' }),
    ).toBe(2);
    expect(
      sampleValue(samples, 'steadfast_adaptive_concurrency_limit_bound', { bound: 'max' }),
    ).toBe(50);

    for (let i = 0; i < 5; i++) await (await weather.fetch('/x')).arrayBuffer();
    samples = await scrape(registry);
    const limit = sampleValue(samples, 'steadfast_adaptive_concurrency_limit', {
      server_address: address,
    });
    expect(limit).toBeLessThan(10);
    expect(limit).toBeGreaterThanOrEqual(2);
    expect(
      sampleValue(samples, 'steadfast_adaptive_concurrency_limit_changes_total', {
        server_address: address,
        direction: 'decrease',
      }),
    ).toBeGreaterThan(0);
    expect(
      sampleValue(samples, 'steadfast_adaptive_concurrency_inflight_calls', {
        server_address: address,
      }),
    ).toBe(0);
  });
});

describe('adaptive throttling', () => {
  it('counts local refusals in the rate-limit families and reads the rejection probability when scraped', async () => {
    const registry = createOpenMetricsRegistry();
    const api = await startScriptedServer(() => ({ status: 503 }));
    h.onCleanup(() => api.close());
    const weather = client({ baseUrl: api.url, adaptiveThrottle: { k: 1 } }, registry);
    const address = new URL(api.url).hostname;
    let refused = 0;
    for (let i = 0; i < 60; i++) {
      try {
        await (await weather.fetch('/x')).arrayBuffer();
      } catch {
        refused++;
      }
    }
    const samples = await scrape(registry);
    const rejections = sampleValue(samples, 'steadfast_rate_limit_rejections_total', {
      limiter: 'adaptive_throttle',
      reason: 'throttled',
    });
    const permits = sampleValue(samples, 'steadfast_rate_limit_permits_total', {
      limiter: 'adaptive_throttle',
    });
    expect(refused).toBeGreaterThan(0);
    expect(rejections).toBe(refused);
    expect(permits).toBe(60 - refused);
    expect(api.requests.length).toBe(60 - refused);
    const probability = sampleValue(samples, 'steadfast_adaptive_throttle_rejection_probability', {
      server_address: address,
    });
    // Every attempt refused by the backend: (requests − accepts) / (requests + 1) = 60/61.
    expect(probability).toBeCloseTo(60 / 61, 6);
  });
});

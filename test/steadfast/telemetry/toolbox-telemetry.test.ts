/**
 * Telemetry of the toolbox strategies (hedging, fallback, adaptive concurrency, adaptive
 * throttle): their events, emitted on a `ClientEvents` as the layers emit them, read back
 * from a prom-client registry, from a real OpenTelemetry `MeterProvider` (in-memory
 * exporter) and from the spans of the real span layers (in-memory span exporter). And a
 * client without these strategies subscribes to none of their events and has none of their
 * series.
 */
import { AggregationTemporality, type Histogram } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, HedgeCancelledError } from '../../../packages/steadfast/src/errors.js';
import { errorTypeOf } from '../../../packages/steadfast/src/http/classify.js';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import type { CallContext, Outcome } from '../../../packages/steadfast/src/pipeline/types.js';
import { ERROR_TYPES } from '../../../packages/steadfast/src/telemetry/attributes.js';
import {
  createTelemetry,
  type MetricsRegistry,
  OTEL_INSTRUMENT_NAMES,
  renderMetrics,
  STALE_AGE_BUCKETS,
  type TelemetryOptions,
  type TelemetryTarget,
} from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import { CALL_SPAN_SLOT } from '../../../packages/steadfast/src/telemetry/tracing/keys.js';
import {
  expectInstrumentContract,
  type InstrumentContract,
  inMemoryMeterProvider,
  point,
} from './otel-reader.js';
import { parseExposition, type Sample, sampleValue } from './support.js';
import {
  ADAPTIVE_BOUNDS,
  emitToolboxEvents,
  PRIMARY,
  THROTTLE_PROBE,
  TOOLBOX_ORIGINS,
  toolboxContext,
  UNLISTED,
} from './toolbox-events.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Layers = Pick<
  TelemetryTarget,
  'hedging' | 'fallback' | 'adaptiveConcurrency' | 'adaptiveThrottle' | 'throttleProbe'
>;

const EVERY_LAYER: Layers = {
  hedging: true,
  fallback: true,
  adaptiveConcurrency: ADAPTIVE_BOUNDS,
  adaptiveThrottle: true,
  throttleProbe: THROTTLE_PROBE,
};

/** Telemetry of client `weather` with every toolbox strategy on (or as `layers` says). */
function telemetry(options: TelemetryOptions, layers: Layers = EVERY_LAYER) {
  const events = new ClientEvents();
  const t = createTelemetry(options, {
    client: 'weather',
    events,
    auth: undefined,
    origins: TOOLBOX_ORIGINS,
    quotaLimitPerSecond: undefined,
    rateLimiter: false,
    cooldown: false,
    ...layers,
  });
  cleanups.push(() => t.dispose());
  return { events, telemetry: t };
}

/** The toolbox strategies' emitters. */
const TOOLBOX = ['hedge', 'hedgeEnd', 'fallback', 'concurrencyLimit', 'throttle'] as const;

function listening(events: ClientEvents): string[] {
  return Object.entries(events)
    .filter(([, e]) => (e as { hasListeners: boolean }).hasListeners)
    .map(([name]) => name);
}

const response = (status: number): Outcome =>
  ({ kind: 'response', response: { status } }) as unknown as Outcome;

async function scrape(registry: MetricsRegistry): Promise<{ samples: Sample[]; text: string }> {
  const text = await renderMetrics(registry, 'text');
  return { samples: parseExposition(text), text };
}

describe('Prometheus families of the toolbox strategies', () => {
  async function scripted(): Promise<{ samples: Sample[]; text: string }> {
    const registry = createOpenMetricsRegistry();
    const { events } = telemetry({ tracing: false, metrics: { registry } });
    emitToolboxEvents(events, toolboxContext('weather'));
    return scrape(registry);
  }

  it('are registered with their type, help and label names', () => {
    const registry = new Registry();
    telemetry({ tracing: false, metrics: { registry } });
    const expected: Record<string, [string, string[]]> = {
      steadfast_hedges_sent_total: ['counter', ['client', 'server_address', 'trigger']],
      steadfast_hedges_skipped_total: ['counter', ['client', 'trigger', 'reason']],
      steadfast_hedged_calls_total: ['counter', ['client', 'server_address', 'winner']],
      steadfast_hedges_cancelled_total: ['counter', ['client']],
      steadfast_fallbacks_total: ['counter', ['client', 'kind', 'trigger', 'served']],
      steadfast_fallback_stale_age_seconds: ['histogram', ['client']],
      steadfast_adaptive_concurrency_limit: ['gauge', ['client', 'server_address']],
      steadfast_adaptive_concurrency_limit_bound: ['gauge', ['client', 'bound']],
      steadfast_adaptive_concurrency_limit_changes_total: [
        'counter',
        ['client', 'server_address', 'direction'],
      ],
      steadfast_adaptive_concurrency_inflight_calls: ['gauge', ['client', 'server_address']],
      steadfast_adaptive_throttle_rejection_probability: ['gauge', ['client', 'server_address']],
    };
    for (const [name, [type, labels]] of Object.entries(expected)) {
      const metric = registry.getSingleMetric(name) as unknown as
        | { type: string; labelNames: string[]; help: string }
        | undefined;
      expect(metric, name).toBeDefined();
      expect({ name, type: metric?.type, labels: [...(metric?.labelNames ?? [])].sort() }).toEqual({
        name,
        type,
        labels: [...labels].sort(),
      });
      expect(metric?.help.length, name).toBeGreaterThan(20);
    }
  });

  it('count hedges sent by endpoint and trigger, and those skipped for the budget', async () => {
    const { samples } = await scripted();
    const sent = samples
      .filter((s) => s.name === 'steadfast_hedges_sent_total' && s.value > 0)
      .map((s) => [s.labels.server_address, s.labels.trigger, s.value])
      .sort();
    expect(sent).toEqual([
      ['127.0.0.1', 'delay', 1],
      ['_OTHER', 'delay', 1],
      ['replica.test', 'failure', 1],
    ]);
    const skipped = samples
      .filter((s) => s.name === 'steadfast_hedges_skipped_total')
      .map((s) => [s.labels.trigger, s.labels.reason, s.value])
      .sort();
    expect(skipped).toEqual([
      ['delay', 'budget_exhausted', 2],
      ['failure', 'budget_exhausted', 0],
    ]);
  });

  it('count hedged calls by the attempt they took and its endpoint, and the attempts cancelled', async () => {
    const { samples } = await scripted();
    const won = samples
      .filter((s) => s.name === 'steadfast_hedged_calls_total')
      .map((s) => [s.labels.winner, s.labels.server_address ?? '', s.value])
      .sort();
    expect(won).toEqual([
      ['hedge', '127.0.0.1', 0],
      ['hedge', 'replica.test', 1],
      ['none', '', 1],
      ['primary', '127.0.0.1', 1],
      ['primary', 'replica.test', 0],
    ]);
    expect(sampleValue(samples, 'steadfast_hedges_cancelled_total', { client: 'weather' })).toBe(3);
  });

  it('count fallbacks by kind, bounded trigger and whether they were served, and observe stale ages in seconds', async () => {
    const { samples, text } = await scripted();
    const fallbacks = samples
      .filter((s) => s.name === 'steadfast_fallbacks_total')
      .map((s) => [s.labels.kind, s.labels.trigger, s.labels.served, s.value])
      .sort();
    expect(fallbacks).toEqual([
      ['handler', '_OTHER', 'true', 1],
      ['handler', 'rate_limited', 'true', 1],
      ['stale', '503', 'true', 1],
      ['stale', 'circuit_open', 'true', 1],
      ['stale', 'timeout', 'false', 1],
    ]);
    const age = (part: string) =>
      sampleValue(samples, `steadfast_fallback_stale_age_seconds_${part}`, { client: 'weather' });
    expect(age('count')).toBe(2);
    expect(age('sum')).toBeCloseTo(43.5, 9);
    const buckets = samples.filter((s) => s.name === 'steadfast_fallback_stale_age_seconds_bucket');
    expect(buckets.map((s) => s.labels.le)).toEqual([...STALE_AGE_BUCKETS.map(String), '+Inf']);
    const le = (bound: string) => buckets.find((s) => s.labels.le === bound)?.value;
    expect([le('1'), le('5'), le('30'), le('60')]).toEqual([0, 1, 1, 2]);
    // A trigger outside the vocabulary (here a cache key) never becomes a label.
    expect(text).not.toContain('cache-key-secret');
    expect(text).not.toContain('/users');
  });

  it('report the adaptive limit per origin (from the initial limit on), its bounds and its changes', async () => {
    const registry = createOpenMetricsRegistry();
    const { events } = telemetry({ tracing: false, metrics: { registry } });
    const limit = (samples: Sample[], server_address: string) =>
      sampleValue(samples, 'steadfast_adaptive_concurrency_limit', { server_address });

    let { samples } = await scrape(registry);
    expect([limit(samples, '127.0.0.1'), limit(samples, 'replica.test')]).toEqual([20, 20]);
    const bound = (b: string) =>
      sampleValue(samples, 'steadfast_adaptive_concurrency_limit_bound', { bound: b });
    expect([bound('min'), bound('max')]).toEqual([5, 200]);

    emitToolboxEvents(events, toolboxContext('weather'));
    ({ samples } = await scrape(registry));
    expect([
      limit(samples, '127.0.0.1'),
      limit(samples, 'replica.test'),
      limit(samples, '_OTHER'),
    ]).toEqual([10, 20, 7]);
    const changes = samples
      .filter((s) => s.name === 'steadfast_adaptive_concurrency_limit_changes_total')
      .map((s) => [s.labels.server_address, s.labels.direction, s.value])
      .sort();
    expect(changes).toEqual([
      ['127.0.0.1', 'decrease', 1],
      ['127.0.0.1', 'increase', 1],
      ['_OTHER', 'decrease', 1],
      ['replica.test', 'decrease', 0],
      ['replica.test', 'increase', 0],
    ]);
  });

  it('report the calls in flight per origin as the adaptive limiter last reported them', async () => {
    const registry = createOpenMetricsRegistry();
    const { events } = telemetry({ tracing: false, metrics: { registry } });
    const inflight = (samples: Sample[], server_address: string) =>
      sampleValue(samples, 'steadfast_adaptive_concurrency_inflight_calls', { server_address });
    let { samples } = await scrape(registry);
    expect([inflight(samples, '127.0.0.1'), inflight(samples, 'replica.test')]).toEqual([0, 0]);
    emitToolboxEvents(events, toolboxContext('weather'));
    ({ samples } = await scrape(registry));
    expect([inflight(samples, '127.0.0.1'), inflight(samples, 'replica.test')]).toEqual([3, 1]);
  });

  it('read the adaptive throttle’s rejection probability per origin when scraped, and count its verdicts in the rate-limit families', async () => {
    const registry = createOpenMetricsRegistry();
    let probabilities = THROTTLE_PROBE();
    const { events } = telemetry(
      { tracing: false, metrics: { registry } },
      { adaptiveThrottle: true, throttleProbe: () => probabilities },
    );
    const probability = (samples: Sample[]) =>
      samples
        .filter((s) => s.name === 'steadfast_adaptive_throttle_rejection_probability')
        .map((s) => [s.labels.server_address, s.value])
        .sort();
    let { samples } = await scrape(registry);
    expect(probability(samples)).toEqual([
      ['127.0.0.1', 0.25],
      ['_OTHER', 0.75],
      ['replica.test', 0],
    ]);
    // The backend recovered: the throttle's windows say so at the next scrape, with no event.
    probabilities = new Map([[PRIMARY, { probability: 0 }]]);
    ({ samples } = await scrape(registry));
    expect(probability(samples)).toEqual([
      ['127.0.0.1', 0],
      ['_OTHER', 0],
      ['replica.test', 0],
    ]);

    // Both series of the share it refuses exist at 0 before its first verdict.
    const verdicts = (list: Sample[]) =>
      list
        .filter((s) => s.name.startsWith('steadfast_rate_limit_') && s.name.endsWith('_total'))
        .map((s) => [s.name, s.labels.limiter, s.labels.reason ?? '', s.value]);
    expect(verdicts(samples)).toEqual([
      ['steadfast_rate_limit_permits_total', 'adaptive_throttle', '', 0],
      ['steadfast_rate_limit_rejections_total', 'adaptive_throttle', 'throttled', 0],
    ]);

    emitToolboxEvents(events, toolboxContext('weather'));
    ({ samples } = await scrape(registry));
    expect(
      sampleValue(samples, 'steadfast_rate_limit_permits_total', { limiter: 'adaptive_throttle' }),
    ).toBe(3);
    expect(
      sampleValue(samples, 'steadfast_rate_limit_rejections_total', {
        limiter: 'adaptive_throttle',
        reason: 'throttled',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_events_total', {
        strategy: 'adaptive_throttle',
        event: 'rejected',
        severity: 'error',
      }),
    ).toBe(1);
  });

  it('have every series a ratio reads at 0 before the first event', async () => {
    const registry = createOpenMetricsRegistry();
    telemetry({ tracing: false, metrics: { registry } });
    const { samples } = await scrape(registry);
    const zero = (name: string) =>
      samples.filter((s) => s.name === name).every((s) => s.value === 0) &&
      samples.some((s) => s.name === name);
    for (const name of [
      'steadfast_hedges_sent_total',
      'steadfast_hedges_skipped_total',
      'steadfast_hedged_calls_total',
      'steadfast_hedges_cancelled_total',
      'steadfast_adaptive_concurrency_limit_changes_total',
    ]) {
      expect(zero(name), name).toBe(true);
    }
  });

  it('count the strategies’ decisions as resilience events', async () => {
    const { samples } = await scripted();
    const events = samples
      .filter((s) => s.name === 'steadfast_events_total')
      .map((s) => [s.labels.strategy, s.labels.event, s.labels.severity, s.value])
      .sort();
    expect(events).toEqual([
      ['adaptive_concurrency', 'limit_decreased', 'warning', 2],
      ['adaptive_concurrency', 'limit_increased', 'information', 1],
      ['adaptive_throttle', 'rejected', 'error', 1],
      ['fallback', 'handler_served', 'warning', 2],
      ['fallback', 'not_served', 'error', 1],
      ['fallback', 'stale_served', 'warning', 2],
      ['hedging', 'budget_exhausted', 'warning', 2],
      ['hedging', 'hedge_sent', 'information', 3],
    ]);
  });

  it('tell a call a fallback answered apart in steadfast_calls_total (kind fallback)', async () => {
    const registry = createOpenMetricsRegistry();
    const { events } = telemetry({ tracing: false, metrics: { registry } });
    const served = toolboxContext('weather');
    const fresh = toolboxContext('weather');
    const refused = toolboxContext('weather');
    events.fallback.emit({ ctx: served, kind: 'stale', trigger: '503', served: true, ageMs: 10 });
    events.fallback.emit({
      ctx: refused,
      kind: 'stale',
      trigger: '503',
      served: false,
      ageMs: undefined,
    });
    for (const [ctx, status] of [
      [served, 200],
      [fresh, 200],
      [refused, 503],
    ] as const) {
      events.callEnd.emit({ ctx, outcome: response(status), durationMs: 5 });
    }
    const { samples } = await scrape(registry);
    const kinds = samples
      .filter((s) => s.name === 'steadfast_calls_total')
      .map((s) => [s.labels.kind, s.value])
      .sort();
    expect(kinds).toEqual([
      ['failed_without_retry', 1],
      ['fallback', 1],
      ['successful_without_retry', 1],
    ]);
    // The duration histogram keeps the outcome the caller got: a served fallback is a success.
    expect(
      sampleValue(samples, 'steadfast_call_duration_seconds_count', { outcome: 'success' }),
    ).toBe(2);
  });

  it('count a hedged call as with retry for its re-sends only, not for its hedges', async () => {
    const registry = createOpenMetricsRegistry();
    const { events } = telemetry({ tracing: false, metrics: { registry } });
    const call = (attempts: number, hedges: number, skipped = 0) => {
      const ctx = { ...toolboxContext('weather'), attempts } as unknown as CallContext;
      const hedge = (skip?: 'budget_exhausted') =>
        events.hedge.emit({
          ctx,
          hedge: 1,
          origin: PRIMARY,
          trigger: 'delay',
          delayMs: 10,
          skipped: skip,
        });
      for (let i = 0; i < hedges; i++) hedge();
      for (let i = 0; i < skipped; i++) hedge('budget_exhausted');
      events.callEnd.emit({ ctx, outcome: response(200), durationMs: 5 });
    };
    call(2, 1); // the first attempt and a hedge
    call(1, 1); // a hedge that never reached the wire (its breaker open)
    call(1, 0, 1); // a hedge the budget refused
    call(3, 1); // a hedge, then the group was retried once
    const { samples } = await scrape(registry);
    const kinds = samples
      .filter((s) => s.name === 'steadfast_calls_total')
      .map((s) => [s.labels.kind, s.value])
      .sort();
    expect(kinds).toEqual([
      ['successful_with_retry', 1],
      ['successful_without_retry', 3],
    ]);
  });

  it('count a hedged attempt cancelled because another answered first as error_type cancelled, not as a caller abort', async () => {
    const registry = createOpenMetricsRegistry();
    const { events } = telemetry({ tracing: false, metrics: { registry } });
    const fork = { ...toolboxContext('weather'), hedge: 1 } as unknown as CallContext;
    const cancelled: Outcome = {
      kind: 'error',
      error: new AbortError('GET', PRIMARY, { cause: new HedgeCancelledError('GET', PRIMARY) }),
    };
    const aborted: Outcome = { kind: 'error', error: new AbortError('GET', PRIMARY) };
    expect(errorTypeOf(cancelled)).toBe('cancelled');
    expect(errorTypeOf(aborted)).toBeUndefined();
    expect(ERROR_TYPES.has('cancelled')).toBe(true);
    for (const outcome of [cancelled, aborted]) {
      events.attemptEnd.emit({
        ctx: fork,
        attempt: 0,
        outcome,
        durationMs: 12,
        errorType: errorTypeOf(outcome),
      });
    }
    const { samples } = await scrape(registry);
    const attempts = samples
      .filter((s) => s.name === 'http_client_request_duration_seconds_count')
      .map((s) => [s.labels.error_type ?? '', s.value])
      .sort();
    expect(attempts).toEqual([
      ['', 1],
      ['cancelled', 1],
    ]);
  });
});

describe('a client without the toolbox strategies', () => {
  it('subscribes to none of their events and has none of their series, whatever adapter is on', async () => {
    const registry = createOpenMetricsRegistry();
    const otel = meterProvider();
    const { events } = telemetry(
      {
        tracing: { tracerProvider: new BasicTracerProvider() },
        metrics: { registry },
        otelMetrics: { meterProvider: otel.provider },
      },
      {},
    );
    expect(events.attemptEnd.hasListeners).toBe(true);
    for (const name of TOOLBOX) expect(events[name].hasListeners, name).toBe(false);
    expect(events.rateLimit.hasListeners).toBe(false);

    const { samples } = await scrape(registry);
    const toolbox = samples.filter((s) => /^steadfast_(hedge|fallback|adaptive_)/.test(s.name));
    expect(toolbox).toEqual([]);
    const names = (await otel.read()).map((m) => m.descriptor.name);
    expect(names.filter((n) => /^steadfast\.(hedge|fallback|adaptive_)/.test(n))).toEqual([]);
  });

  it('subscribes to each strategy’s events only when it has that strategy', () => {
    const registry = createOpenMetricsRegistry();
    const only = (layers: Layers) =>
      TOOLBOX.filter(
        (name) =>
          telemetry({ tracing: false, metrics: { registry } }, layers).events[name].hasListeners,
      );
    expect(only({ hedging: true })).toEqual(['hedge', 'hedgeEnd']);
    expect(only({ fallback: true })).toEqual(['fallback']);
    expect(only({ adaptiveConcurrency: ADAPTIVE_BOUNDS })).toEqual(['concurrencyLimit']);
    const throttled = telemetry(
      { tracing: false, metrics: { registry } },
      { adaptiveThrottle: true },
    );
    expect(throttled.events.rateLimit.hasListeners).toBe(true);
  });

  it('subscribes to nothing with every adapter off, and dispose removes what it added', () => {
    const off = telemetry({ tracing: false, metrics: false, otelMetrics: false });
    expect(listening(off.events)).toEqual([]);
    const registry = createOpenMetricsRegistry();
    const otel = meterProvider();
    const on = telemetry({
      tracing: { tracerProvider: new BasicTracerProvider() },
      metrics: { registry },
      otelMetrics: { meterProvider: otel.provider },
    });
    for (const name of ['hedge', 'hedgeEnd', 'fallback', 'concurrencyLimit'] as const) {
      expect(on.events[name].hasListeners, name).toBe(true);
    }
    on.telemetry.dispose();
    expect(listening(on.events)).toEqual([]);
  });
});

/** A real SDK MeterProvider exporting to memory on demand, shut down after the test. */
const meterProvider = (temporality?: AggregationTemporality) =>
  inMemoryMeterProvider((cleanup) => cleanups.push(cleanup), temporality);

describe('OpenTelemetry twins of the toolbox families', () => {
  async function scripted() {
    const otel = meterProvider();
    const { events } = telemetry({
      tracing: false,
      metrics: false,
      otelMetrics: { meterProvider: otel.provider },
    });
    emitToolboxEvents(events, toolboxContext('weather'));
    return otel.read();
  }

  const CONTRACT: Record<string, InstrumentContract> = {
    'steadfast.hedges.sent': {
      kind: 'counter',
      unit: '{attempt}',
      attributes: ['steadfast.client', 'server.address', 'steadfast.hedge.trigger'],
    },
    'steadfast.hedges.skipped': {
      kind: 'counter',
      unit: '{attempt}',
      attributes: ['steadfast.client', 'steadfast.hedge.trigger', 'steadfast.hedge.skip_reason'],
    },
    'steadfast.hedged_calls': {
      kind: 'counter',
      unit: '{call}',
      attributes: ['steadfast.client', 'steadfast.hedge.winner'],
      sometimes: ['server.address'],
    },
    'steadfast.hedges.cancelled': {
      kind: 'counter',
      unit: '{attempt}',
      attributes: ['steadfast.client'],
    },
    'steadfast.fallbacks': {
      kind: 'counter',
      unit: '{call}',
      attributes: [
        'steadfast.client',
        'steadfast.fallback.kind',
        'error.type',
        'steadfast.fallback.served',
      ],
    },
    'steadfast.fallback.stale_age': {
      kind: 'histogram',
      unit: 's',
      attributes: ['steadfast.client'],
      buckets: STALE_AGE_BUCKETS,
    },
    'steadfast.adaptive_concurrency.limit': {
      kind: 'gauge',
      unit: '{call}',
      attributes: ['steadfast.client', 'server.address'],
    },
    'steadfast.adaptive_concurrency.limit_bound': {
      kind: 'gauge',
      unit: '{call}',
      attributes: ['steadfast.client', 'steadfast.adaptive_concurrency.bound'],
    },
    'steadfast.adaptive_concurrency.limit_changes': {
      kind: 'counter',
      unit: '{change}',
      attributes: [
        'steadfast.client',
        'server.address',
        'steadfast.adaptive_concurrency.direction',
      ],
    },
    'steadfast.adaptive_concurrency.inflight': {
      kind: 'gauge',
      unit: '{call}',
      attributes: ['steadfast.client', 'server.address'],
    },
    'steadfast.adaptive_throttle.rejection_probability': {
      kind: 'gauge',
      unit: '1',
      attributes: ['steadfast.client', 'server.address'],
    },
  };

  it('exist with their kind, unit, buckets and attribute keys, under OTEL_INSTRUMENT_NAMES', async () => {
    const data = await scripted();
    expectInstrumentContract(
      data,
      CONTRACT,
      [
        'hedgesSent',
        'hedgesSkipped',
        'hedgedCalls',
        'hedgesCancelled',
        'fallbacks',
        'fallbackStaleAge',
        'adaptiveLimit',
        'adaptiveLimitBound',
        'adaptiveLimitChanges',
        'adaptiveInflight',
        'throttleProbability',
      ],
      OTEL_INSTRUMENT_NAMES,
    );
    // No attribute holds a path, a cache key or an unlisted host.
    const values = data.flatMap((m) =>
      m.dataPoints.flatMap((p) => Object.values(p.attributes).map(String)),
    );
    for (const v of values) {
      expect(v).not.toContain('/');
      expect(v).not.toContain('cache-key-secret');
      expect(v).not.toContain(new URL(UNLISTED).hostname);
    }
  });

  it('record what the Prometheus families count', async () => {
    const data = await scripted();
    const client = { 'steadfast.client': 'weather' };
    const sent = (address: string, trigger: string) =>
      point(data, 'steadfast.hedges.sent', {
        ...client,
        'server.address': address,
        'steadfast.hedge.trigger': trigger,
      });
    expect([
      sent('127.0.0.1', 'delay'),
      sent('replica.test', 'failure'),
      sent('_OTHER', 'delay'),
      sent('replica.test', 'delay'),
    ]).toEqual([1, 1, 1, 0]);
    expect(
      point(data, 'steadfast.hedges.skipped', {
        ...client,
        'steadfast.hedge.trigger': 'delay',
        'steadfast.hedge.skip_reason': 'budget_exhausted',
      }),
    ).toBe(2);
    const won = (address: string | undefined, winner: string) =>
      point(data, 'steadfast.hedged_calls', {
        ...client,
        ...(address === undefined ? {} : { 'server.address': address }),
        'steadfast.hedge.winner': winner,
      });
    expect([
      won('replica.test', 'hedge'),
      won('127.0.0.1', 'primary'),
      won(undefined, 'none'),
    ]).toEqual([1, 1, 1]);
    expect(point(data, 'steadfast.hedges.cancelled', client)).toBe(3);
    const fallback = (kind: string, trigger: string, served: boolean) =>
      point(data, 'steadfast.fallbacks', {
        ...client,
        'steadfast.fallback.kind': kind,
        'error.type': trigger,
        'steadfast.fallback.served': served,
      });
    expect([
      fallback('stale', '503', true),
      fallback('stale', 'timeout', false),
      fallback('handler', '_OTHER', true),
    ]).toEqual([1, 1, 1]);
    const ages = point(data, 'steadfast.fallback.stale_age', client) as Histogram;
    expect([ages.count, ages.sum]).toEqual([2, 43.5]);
    const limit = (address: string) =>
      point(data, 'steadfast.adaptive_concurrency.limit', { ...client, 'server.address': address });
    expect([limit('127.0.0.1'), limit('replica.test'), limit('_OTHER')]).toEqual([10, 20, 7]);
    const bound = (b: string) =>
      point(data, 'steadfast.adaptive_concurrency.limit_bound', {
        ...client,
        'steadfast.adaptive_concurrency.bound': b,
      });
    expect([bound('min'), bound('max')]).toEqual([5, 200]);
    expect(
      point(data, 'steadfast.adaptive_concurrency.limit_changes', {
        ...client,
        'server.address': '127.0.0.1',
        'steadfast.adaptive_concurrency.direction': 'decrease',
      }),
    ).toBe(1);
    const event = (strategy: string, name: string, severity: string) =>
      point(data, 'steadfast.events', {
        ...client,
        'steadfast.event.strategy': strategy,
        'steadfast.event.name': name,
        'steadfast.event.severity': severity,
      });
    expect(event('hedging', 'hedge_sent', 'information')).toBe(3);
    expect(event('fallback', 'stale_served', 'warning')).toBe(2);
    expect(event('adaptive_concurrency', 'limit_decreased', 'warning')).toBe(2);
    expect(event('adaptive_throttle', 'rejected', 'error')).toBe(1);
    const inflight = (address: string) =>
      point(data, 'steadfast.adaptive_concurrency.inflight', {
        ...client,
        'server.address': address,
      });
    expect([inflight('127.0.0.1'), inflight('replica.test')]).toEqual([3, 1]);
    const probability = (address: string) =>
      point(data, 'steadfast.adaptive_throttle.rejection_probability', {
        ...client,
        'server.address': address,
      });
    expect([probability('127.0.0.1'), probability('replica.test'), probability('_OTHER')]).toEqual([
      0.25, 0, 0.75,
    ]);
    expect(
      point(data, 'steadfast.rate_limit.rejections', {
        ...client,
        'steadfast.rate_limit.limiter': 'adaptive_throttle',
        'steadfast.rate_limit.reason': 'throttled',
      }),
    ).toBe(1);
  });

  it('count a call a fallback answered as steadfast.call.kind fallback', async () => {
    const otel = meterProvider();
    const { events } = telemetry({
      tracing: false,
      metrics: false,
      otelMetrics: { meterProvider: otel.provider },
    });
    const served = toolboxContext('weather');
    events.fallback.emit({ ctx: served, kind: 'handler', trigger: '503', served: true, ageMs: 0 });
    events.callEnd.emit({ ctx: served, outcome: response(200), durationMs: 5 });
    events.callEnd.emit({ ctx: toolboxContext('weather'), outcome: response(200), durationMs: 5 });
    const data = await otel.read();
    const kind = (k: string) =>
      point(data, 'steadfast.calls', { 'steadfast.client': 'weather', 'steadfast.call.kind': k });
    expect([kind('fallback'), kind('successful_without_retry')]).toEqual([1, 1]);
  });

  it('remove their gauge callbacks on dispose', async () => {
    const otel = meterProvider(AggregationTemporality.DELTA);
    const { events, telemetry: t } = telemetry({
      tracing: false,
      metrics: false,
      otelMetrics: { meterProvider: otel.provider },
    });
    emitToolboxEvents(events, toolboxContext('weather'));
    const gauges = [
      'steadfast.adaptive_concurrency.limit',
      'steadfast.adaptive_concurrency.limit_bound',
      'steadfast.adaptive_concurrency.inflight',
      'steadfast.adaptive_throttle.rejection_probability',
    ];
    const observed = async () =>
      (await otel.read())
        .filter((m) => gauges.includes(m.descriptor.name) && m.dataPoints.length > 0)
        .map((m) => m.descriptor.name)
        .sort();
    expect(await observed()).toEqual([...gauges].sort());
    t.dispose();
    expect(await observed()).toEqual([]);
  });
});

describe('spans of the toolbox strategies', () => {
  function tracing(layers: Layers = EVERY_LAYER) {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const { events, telemetry: t } = telemetry(
      { tracing: { tracerProvider: provider }, metrics: false },
      layers,
    );
    return { events, telemetry: t, exporter, provider };
  }

  it('add steadfast.hedge for each hedge sent or skipped, and steadfast.hedge.end for hedged calls', () => {
    const { events, exporter, provider } = tracing();
    const span = provider.getTracer('test').startSpan('weather GET');
    emitToolboxEvents(events, toolboxContext('weather', new Map([[CALL_SPAN_SLOT, span]])));
    span.end();
    const [finished] = exporter.getFinishedSpans();
    const hedges = finished!.events.filter((e) => e.name.startsWith('steadfast.hedge'));
    expect(hedges.map((e) => [e.name, e.attributes])).toEqual([
      [
        'steadfast.hedge',
        {
          'steadfast.hedge.index': 1,
          'steadfast.hedge.trigger': 'delay',
          'steadfast.hedge.delay_ms': 87,
          'server.address': '127.0.0.1',
        },
      ],
      [
        'steadfast.hedge',
        {
          'steadfast.hedge.index': 2,
          'steadfast.hedge.trigger': 'failure',
          'steadfast.hedge.delay_ms': 87,
          'server.address': 'replica.test',
        },
      ],
      [
        'steadfast.hedge',
        {
          'steadfast.hedge.index': 1,
          'steadfast.hedge.trigger': 'delay',
          'steadfast.hedge.delay_ms': 87,
          'server.address': '127.0.0.1',
          'steadfast.hedge.skip_reason': 'budget_exhausted',
        },
      ],
      [
        'steadfast.hedge',
        {
          'steadfast.hedge.index': 1,
          'steadfast.hedge.trigger': 'delay',
          'steadfast.hedge.delay_ms': 87,
          'server.address': 'unlisted-7f3a.test',
        },
      ],
      [
        'steadfast.hedge',
        {
          'steadfast.hedge.index': 2,
          'steadfast.hedge.trigger': 'delay',
          'steadfast.hedge.delay_ms': 87,
          'server.address': 'replica.test',
          'steadfast.hedge.skip_reason': 'budget_exhausted',
        },
      ],
      // a call whose first attempt answered alone: nothing
      [
        'steadfast.hedge.end',
        {
          'steadfast.hedge.sent': 2,
          'steadfast.hedge.cancelled': 1,
          'steadfast.hedge.winner': 1,
          'server.address': 'replica.test',
        },
      ],
      [
        'steadfast.hedge.end',
        {
          'steadfast.hedge.sent': 3,
          'steadfast.hedge.cancelled': 2,
          'steadfast.hedge.winner': 0,
          'server.address': '127.0.0.1',
        },
      ],
      ['steadfast.hedge.end', { 'steadfast.hedge.sent': 2, 'steadfast.hedge.cancelled': 0 }],
    ]);
  });

  it('add steadfast.fallback for each fallback, served or not, with a bounded trigger', () => {
    const { events, exporter, provider } = tracing();
    const span = provider.getTracer('test').startSpan('weather GET');
    emitToolboxEvents(events, toolboxContext('weather', new Map([[CALL_SPAN_SLOT, span]])));
    span.end();
    const [finished] = exporter.getFinishedSpans();
    const fallbacks = finished!.events.filter((e) => e.name === 'steadfast.fallback');
    expect(fallbacks.map((e) => e.attributes)).toEqual([
      {
        'steadfast.fallback.kind': 'stale',
        'error.type': '503',
        'steadfast.fallback.served': true,
        'steadfast.fallback.stale_age_ms': 42_000,
      },
      {
        'steadfast.fallback.kind': 'stale',
        'error.type': 'circuit_open',
        'steadfast.fallback.served': true,
        'steadfast.fallback.stale_age_ms': 1500,
      },
      {
        'steadfast.fallback.kind': 'stale',
        'error.type': 'timeout',
        'steadfast.fallback.served': false,
      },
      {
        'steadfast.fallback.kind': 'handler',
        'error.type': 'rate_limited',
        'steadfast.fallback.served': true,
      },
      {
        'steadfast.fallback.kind': 'handler',
        'error.type': '_OTHER',
        'steadfast.fallback.served': true,
      },
    ]);
    expect(JSON.stringify(finished!.events)).not.toContain('cache-key-secret');
  });

  /** A call through the real call-span layer, whose inner layers are `inner`. */
  async function callThrough(
    callLayer: NonNullable<ReturnType<typeof createTelemetry>['callLayer']>,
    inner: (ctx: CallContext) => Outcome,
  ) {
    const ctx = {
      ...toolboxContext('weather'),
      operation: 'GET',
      urlHasUserinfo: false,
      attempts: 0,
    } as unknown as CallContext & { attempts: number };
    await callLayer.execute(ctx, async (c) => {
      (c as { attempts: number }).attempts = 1;
      return inner(c);
    });
  }

  it('mark a call a fallback answered on its span: outcome fallback, the kind, the trigger and the stale age', async () => {
    const { events, exporter, telemetry: t } = tracing();
    await callThrough(t.callLayer!, (ctx) => {
      events.fallback.emit({ ctx, kind: 'stale', trigger: '503', served: true, ageMs: 3210.4 });
      return response(200);
    });
    await callThrough(t.callLayer!, (ctx) => {
      events.fallback.emit({ ctx, kind: 'stale', trigger: '503', served: false, ageMs: undefined });
      return response(503);
    });
    await callThrough(t.callLayer!, () => response(200));
    const [served, notServed, fresh] = exporter.getFinishedSpans();
    expect(served!.attributes).toMatchObject({
      'steadfast.outcome': 'fallback',
      'steadfast.fallback.kind': 'stale',
      'steadfast.fallback.trigger': '503',
      'steadfast.fallback.stale_age_ms': 3210,
    });
    expect(served!.attributes['error.type']).toBeUndefined();
    expect(served!.status.code).toBe(0);
    expect(notServed!.attributes).toMatchObject({
      'steadfast.outcome': 'failure',
      'error.type': '503',
    });
    expect(notServed!.attributes['steadfast.fallback.kind']).toBeUndefined();
    expect(fresh!.attributes['steadfast.outcome']).toBe('success');
    expect(fresh!.attributes['steadfast.fallback.kind']).toBeUndefined();
  });

  it('leave the call span’s outcome alone for a client without a fallback', async () => {
    const { events, exporter, telemetry: t } = tracing({ hedging: true });
    await callThrough(t.callLayer!, (ctx) => {
      events.fallback.emit({ ctx, kind: 'stale', trigger: '503', served: true, ageMs: 1 });
      return response(200);
    });
    const [span] = exporter.getFinishedSpans();
    expect(span!.attributes['steadfast.outcome']).toBe('success');
    expect(span!.events).toEqual([]);
  });

  it('give hedged attempt spans their index, and a cancelled hedge error.type cancelled without an error status', async () => {
    const { exporter, telemetry: t } = tracing();
    const attempt = async (hedge: number | undefined, outcome: Outcome) => {
      const ctx = {
        ...toolboxContext('weather'),
        ...(hedge === undefined ? {} : { hedge }),
        headers: {},
        urlHasUserinfo: false,
      } as unknown as CallContext;
      await t.attemptLayer!.execute(ctx, async () => outcome);
    };
    await attempt(0, response(200));
    await attempt(1, {
      kind: 'error',
      error: new AbortError('GET', PRIMARY, { cause: new HedgeCancelledError('GET', PRIMARY) }),
    });
    await attempt(undefined, response(503));
    const [primary, hedge, plain] = exporter.getFinishedSpans();
    expect(primary!.attributes['steadfast.hedge.index']).toBe(0);
    expect(primary!.attributes['error.type']).toBeUndefined();
    expect(hedge!.attributes['steadfast.hedge.index']).toBe(1);
    expect(hedge!.attributes['error.type']).toBe('cancelled');
    expect(hedge!.status.code).toBe(0); // unset: not a failure
    expect(hedge!.events).toEqual([]); // no exception event
    expect(plain!.attributes['steadfast.hedge.index']).toBeUndefined();
    expect(plain!.attributes['error.type']).toBe('503');
  });

  it('record nothing for a call without a recording span', () => {
    const { events } = tracing();
    expect(() => emitToolboxEvents(events, toolboxContext('weather'))).not.toThrow();
  });
});

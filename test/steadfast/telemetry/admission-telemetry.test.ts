/**
 * Telemetry of the admission layers (rate limiter, fleet quota, cooldown): their events,
 * emitted on a `ClientEvents` as the strategies emit them, read back from a prom-client
 * registry, from a real OpenTelemetry `MeterProvider` (in-memory exporter) and from the
 * call span's events. And a client without these layers subscribes to none of them.
 */
import { AggregationTemporality, type Histogram } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import {
  createTelemetry,
  OTEL_INSTRUMENT_NAMES,
  QUOTA_LEASE_BUCKETS,
  RATE_LIMIT_WAIT_BUCKETS,
  renderMetrics,
  type TelemetryOptions,
} from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import { CALL_SPAN_SLOT } from '../../../packages/steadfast/src/telemetry/tracing/keys.js';
import {
  admissionContext,
  emitAdmissionEvents,
  OTHER_SCOPE,
  QUOTA_LIMIT_PER_SECOND,
  SECRET_SCOPE,
} from './admission-events.js';
import {
  expectInstrumentContract,
  type InstrumentContract,
  inMemoryMeterProvider,
  point,
} from './otel-reader.js';
import { parseExposition, type Sample, sampleValue } from './support.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ORIGINS = ['http://127.0.0.1:1'];

/** Telemetry of client `weather` with every admission layer on (or as `layers` says). */
function telemetry(
  options: TelemetryOptions,
  layers: { quotaLimitPerSecond?: number; rateLimiter?: boolean; cooldown?: boolean } = {},
) {
  const events = new ClientEvents();
  const t = createTelemetry(options, {
    client: 'weather',
    events,
    auth: undefined,
    origins: ORIGINS,
    quotaLimitPerSecond:
      'quotaLimitPerSecond' in layers ? layers.quotaLimitPerSecond : QUOTA_LIMIT_PER_SECOND,
    ...(layers.rateLimiter === undefined ? {} : { rateLimiter: layers.rateLimiter }),
    ...(layers.cooldown === undefined ? {} : { cooldown: layers.cooldown }),
  });
  cleanups.push(() => t.dispose());
  return { events, telemetry: t };
}

/** The admission layers' emitters. */
const ADMISSION = ['rateLimit', 'quotaLease', 'quotaFallback', 'cooldown'] as const;

function listening(events: ClientEvents): string[] {
  return Object.entries(events)
    .filter(([, e]) => (e as { hasListeners: boolean }).hasListeners)
    .map(([name]) => name);
}

describe('Prometheus families of the admission layers', () => {
  async function scripted(): Promise<{ samples: Sample[]; text: string }> {
    const registry = createOpenMetricsRegistry();
    const { events } = telemetry({ tracing: false, metrics: { registry } });
    emitAdmissionEvents(events, admissionContext('weather'));
    const text = await renderMetrics(registry, 'text');
    return { samples: parseExposition(text), text };
  }

  it('are registered with their type, help and label names', () => {
    const registry = new Registry();
    telemetry({ tracing: false, metrics: { registry } });
    const expected: Record<string, [string, string[]]> = {
      steadfast_rate_limit_permits_total: ['counter', ['client', 'limiter']],
      steadfast_rate_limit_wait_seconds: ['histogram', ['client', 'limiter']],
      steadfast_rate_limit_rejections_total: ['counter', ['client', 'limiter', 'reason']],
      steadfast_quota_lease_size: ['histogram', ['client']],
      steadfast_quota_store_commands_total: ['counter', ['client', 'result']],
      steadfast_quota_fallback_active: ['gauge', ['client']],
      steadfast_quota_limit_per_second: ['gauge', ['client']],
      steadfast_cooldown_transitions_total: ['counter', ['client', 'change', 'source']],
      steadfast_cooldown_paused_seconds_total: ['counter', ['client']],
      steadfast_cooldown_active_scopes: ['gauge', ['client']],
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

  it('count granted permits (weights summed) and observe the waits of granted attempts, in seconds', async () => {
    const { samples } = await scripted();
    const permits = (limiter: string) =>
      sampleValue(samples, 'steadfast_rate_limit_permits_total', { client: 'weather', limiter });
    expect([permits('rate_limiter'), permits('fleet_quota'), permits('cooldown')]).toEqual([
      3, 1, 1,
    ]);
    const wait = (limiter: string, part: 'count' | 'sum') =>
      sampleValue(samples, `steadfast_rate_limit_wait_seconds_${part}`, {
        client: 'weather',
        limiter,
      });
    expect(wait('rate_limiter', 'count')).toBe(2);
    expect(wait('rate_limiter', 'sum')).toBeCloseTo(0.15, 9);
    expect(wait('fleet_quota', 'sum')).toBeCloseTo(0.003, 9);
    expect(wait('cooldown', 'count')).toBe(1);
    expect(wait('cooldown', 'sum')).toBeCloseTo(1.2, 9);
    const les = samples
      .filter(
        (s) =>
          s.name === 'steadfast_rate_limit_wait_seconds_bucket' &&
          s.labels.limiter === 'rate_limiter',
      )
      .map((s) => s.labels.le);
    expect(les).toEqual([...RATE_LIMIT_WAIT_BUCKETS.map(String), '+Inf']);
    expect(RATE_LIMIT_WAIT_BUCKETS[0]).toBe(0.001);
    expect(RATE_LIMIT_WAIT_BUCKETS.at(-1)).toBe(60);
    // 0 s and 0.15 s: one in the first bucket, both by 0.25 s.
    const bucket = (le: string) =>
      sampleValue(samples, 'steadfast_rate_limit_wait_seconds_bucket', {
        limiter: 'rate_limiter',
        le,
      });
    expect([bucket('0.001'), bucket('0.1'), bucket('0.25')]).toEqual([1, 1, 2]);
  });

  it('count refusals by limiter and reason, and as resilience events', async () => {
    const { samples } = await scripted();
    const rejected = samples.filter((s) => s.name === 'steadfast_rate_limit_rejections_total');
    expect(rejected.map((s) => [s.labels.limiter, s.labels.reason, s.value]).sort()).toEqual([
      ['cooldown', 'max_wait', 1],
      ['fleet_quota', 'deadline', 1],
      ['rate_limiter', 'max_wait', 1],
    ]);
    const events = samples
      .filter((s) => s.name === 'steadfast_events_total')
      .map((s) => [s.labels.strategy, s.labels.event, s.labels.severity, s.value])
      .sort();
    expect(events).toEqual([
      ['cooldown', 'cooldown_ended', 'information', 1],
      ['cooldown', 'cooldown_started', 'warning', 2],
      ['cooldown', 'rejected', 'error', 1],
      ['fleet_quota', 'fallback_ended', 'information', 1],
      ['fleet_quota', 'fallback_started', 'warning', 1],
      ['fleet_quota', 'rejected', 'error', 1],
      ['rate_limiter', 'rejected', 'error', 1],
    ]);
  });

  it('count store leases by result (local-share leases are no store command) and observe granted lease sizes', async () => {
    const { samples } = await scripted();
    const commands = (result: string) =>
      sampleValue(samples, 'steadfast_quota_store_commands_total', { client: 'weather', result });
    expect([commands('ok'), commands('denied'), commands('error')]).toEqual([2, 1, 1]);
    expect(sampleValue(samples, 'steadfast_quota_lease_size_count', { client: 'weather' })).toBe(2);
    expect(sampleValue(samples, 'steadfast_quota_lease_size_sum', { client: 'weather' })).toBe(35);
    const buckets = samples.filter((s) => s.name === 'steadfast_quota_lease_size_bucket');
    expect(buckets.map((s) => s.labels.le)).toEqual([...QUOTA_LEASE_BUCKETS.map(String), '+Inf']);
    expect([...QUOTA_LEASE_BUCKETS]).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    const le = (bound: string) => buckets.find((s) => s.labels.le === bound)?.value;
    expect([le('5'), le('10'), le('20'), le('50')]).toEqual([0, 1, 1, 2]);
  });

  it('report the quota limit per second and whether the quota is on its local share', async () => {
    const registry = createOpenMetricsRegistry();
    const { events } = telemetry({ tracing: false, metrics: { registry } });
    const read = async () => parseExposition(await renderMetrics(registry, 'text'));

    let samples = await read();
    // Set once the quota is configured, before any event; fallback starts at 0 and every
    // store-command result exists at 0 (increase() sees its first command).
    expect(sampleValue(samples, 'steadfast_quota_limit_per_second', { client: 'weather' })).toBe(
      QUOTA_LIMIT_PER_SECOND,
    );
    expect(sampleValue(samples, 'steadfast_quota_fallback_active', { client: 'weather' })).toBe(0);
    expect(
      samples
        .filter((s) => s.name === 'steadfast_quota_store_commands_total')
        .map((s) => [s.labels.result, s.value])
        .sort(),
    ).toEqual([
      ['denied', 0],
      ['error', 0],
      ['ok', 0],
    ]);

    events.quotaFallback.emit({ client: 'weather', active: true, localLimit: 1, fleetSize: 10 });
    samples = await read();
    expect(sampleValue(samples, 'steadfast_quota_fallback_active', { client: 'weather' })).toBe(1);
    events.quotaFallback.emit({ client: 'weather', active: false, localLimit: 1, fleetSize: 10 });
    samples = await read();
    expect(sampleValue(samples, 'steadfast_quota_fallback_active', { client: 'weather' })).toBe(0);
  });

  it('count pause transitions by source, the time paused, and the scopes paused now', async () => {
    const { samples, text } = await scripted();
    const transitions = samples
      .filter((s) => s.name === 'steadfast_cooldown_transitions_total')
      .map((s) => [s.labels.change, s.labels.source, s.value])
      .sort();
    expect(transitions).toEqual([
      ['ended', 'retry_after', 1],
      ['started', 'ratelimit', 1],
      ['started', 'retry_after', 1],
    ]);
    expect(
      sampleValue(samples, 'steadfast_cooldown_paused_seconds_total', { client: 'weather' }),
    ).toBeCloseTo(2.1, 9);
    expect(sampleValue(samples, 'steadfast_cooldown_active_scopes', { client: 'weather' })).toBe(1);
    // The scope (an origin or a partition: maybe user data) is never a label.
    expect(text).not.toContain(SECRET_SCOPE);
    expect(text).not.toContain(OTHER_SCOPE);
  });

  it('count a pause that starts again for the same scope once, and end it once', async () => {
    const registry = createOpenMetricsRegistry();
    const { events } = telemetry({ tracing: false, metrics: { registry } });
    const pause = (change: 'started' | 'ended', durationMs: number) =>
      events.cooldown.emit({
        client: 'weather',
        scope: SECRET_SCOPE,
        change,
        source: 'fleet',
        durationMs,
      });
    pause('started', 1000);
    pause('started', 3000); // another instance asked for a longer pause of the same scope
    let samples = parseExposition(await renderMetrics(registry, 'text'));
    expect(sampleValue(samples, 'steadfast_cooldown_active_scopes', { client: 'weather' })).toBe(1);
    pause('ended', 3000);
    samples = parseExposition(await renderMetrics(registry, 'text'));
    expect(sampleValue(samples, 'steadfast_cooldown_active_scopes', { client: 'weather' })).toBe(0);
    expect(
      sampleValue(samples, 'steadfast_cooldown_paused_seconds_total', { client: 'weather' }),
    ).toBe(3);
  });
});

describe('a client without the admission layers', () => {
  it('subscribes to none of their events and has none of their series, whatever adapter is on', async () => {
    const registry = createOpenMetricsRegistry();
    const otel = meterProvider();
    const spans = new BasicTracerProvider();
    const { events } = telemetry(
      {
        tracing: { tracerProvider: spans },
        metrics: { registry },
        otelMetrics: { meterProvider: otel.provider },
      },
      { quotaLimitPerSecond: undefined, rateLimiter: false, cooldown: false },
    );
    expect(events.attemptEnd.hasListeners).toBe(true);
    for (const name of ADMISSION) expect(events[name].hasListeners, name).toBe(false);

    const samples = parseExposition(await renderMetrics(registry, 'text'));
    const admission = samples.filter((s) => /^steadfast_(rate_limit|quota|cooldown)_/.test(s.name));
    expect(admission).toEqual([]);
    const names = (await otel.read()).map((m) => m.descriptor.name);
    expect(names.filter((n) => /^steadfast\.(rate_limit|quota|cooldown)\./.test(n))).toEqual([]);
  });

  it('with only a quota, subscribes to the quota events and rateLimit, not to cooldowns', () => {
    const registry = createOpenMetricsRegistry();
    const { events } = telemetry(
      { tracing: false, metrics: { registry } },
      { quotaLimitPerSecond: 5, rateLimiter: false, cooldown: false },
    );
    expect(ADMISSION.filter((name) => events[name].hasListeners)).toEqual([
      'rateLimit',
      'quotaLease',
      'quotaFallback',
    ]);
  });

  it('subscribes to nothing at all with every adapter off, and dispose removes what it added', () => {
    const off = telemetry({ tracing: false, metrics: false, otelMetrics: false });
    expect(listening(off.events)).toEqual([]);
    const registry = createOpenMetricsRegistry();
    const otel = meterProvider();
    const on = telemetry({
      tracing: { tracerProvider: new BasicTracerProvider() },
      metrics: { registry },
      otelMetrics: { meterProvider: otel.provider },
    });
    for (const name of ADMISSION) expect(on.events[name].hasListeners, name).toBe(true);
    on.telemetry.dispose();
    expect(listening(on.events)).toEqual([]);
  });
});

/** A real SDK MeterProvider exporting to memory on demand, shut down after the test. */
const meterProvider = (temporality?: AggregationTemporality) =>
  inMemoryMeterProvider((cleanup) => cleanups.push(cleanup), temporality);

describe('OpenTelemetry twins of the admission families', () => {
  async function scripted() {
    const otel = meterProvider();
    const { events } = telemetry({
      tracing: false,
      metrics: false,
      otelMetrics: { meterProvider: otel.provider },
    });
    emitAdmissionEvents(events, admissionContext('weather'));
    return otel.read();
  }

  const CONTRACT: Record<string, InstrumentContract> = {
    'steadfast.rate_limit.permits': {
      kind: 'counter',
      unit: '{permit}',
      attributes: ['steadfast.client', 'steadfast.rate_limit.limiter'],
    },
    'steadfast.rate_limit.wait': {
      kind: 'histogram',
      unit: 's',
      attributes: ['steadfast.client', 'steadfast.rate_limit.limiter'],
      buckets: RATE_LIMIT_WAIT_BUCKETS,
    },
    'steadfast.rate_limit.rejections': {
      kind: 'counter',
      unit: '{attempt}',
      attributes: [
        'steadfast.client',
        'steadfast.rate_limit.limiter',
        'steadfast.rate_limit.reason',
      ],
    },
    'steadfast.quota.lease.size': {
      kind: 'histogram',
      unit: '{permit}',
      attributes: ['steadfast.client'],
      buckets: QUOTA_LEASE_BUCKETS,
    },
    'steadfast.quota.store.commands': {
      kind: 'counter',
      unit: '{command}',
      attributes: ['steadfast.client', 'steadfast.quota.lease.result'],
    },
    'steadfast.quota.fallback.active': {
      kind: 'gauge',
      unit: '1',
      attributes: ['steadfast.client'],
    },
    'steadfast.quota.limit': {
      kind: 'gauge',
      unit: '{permit}/s',
      attributes: ['steadfast.client'],
    },
    'steadfast.cooldown.transitions': {
      kind: 'counter',
      unit: '{transition}',
      attributes: ['steadfast.client', 'steadfast.cooldown.change', 'steadfast.cooldown.source'],
    },
    'steadfast.cooldown.paused_time': {
      kind: 'counter',
      unit: 's',
      attributes: ['steadfast.client'],
    },
    'steadfast.cooldown.active_scopes': {
      kind: 'gauge',
      unit: '{scope}',
      attributes: ['steadfast.client'],
    },
  };

  it('exist with their kind, unit, buckets and attribute keys, under OTEL_INSTRUMENT_NAMES', async () => {
    const data = await scripted();
    expectInstrumentContract(
      data,
      CONTRACT,
      [
        'rateLimitPermits',
        'rateLimitWait',
        'rateLimitRejections',
        'quotaLeaseSize',
        'quotaStoreCommands',
        'quotaFallbackActive',
        'quotaLimitPerSecond',
        'cooldownTransitions',
        'cooldownPaused',
        'cooldownActiveScopes',
      ],
      OTEL_INSTRUMENT_NAMES,
    );
    // No attribute holds a scope.
    const values = data.flatMap((m) =>
      m.dataPoints.flatMap((p) => Object.values(p.attributes).map(String)),
    );
    for (const v of values) {
      expect(v).not.toContain(SECRET_SCOPE);
      expect(v).not.toContain(OTHER_SCOPE);
    }
  });

  it('record what the Prometheus families count', async () => {
    const data = await scripted();
    const client = { 'steadfast.client': 'weather' };
    const limiter = (l: string) => ({ ...client, 'steadfast.rate_limit.limiter': l });
    expect(point(data, 'steadfast.rate_limit.permits', limiter('rate_limiter'))).toBe(3);
    expect(point(data, 'steadfast.rate_limit.permits', limiter('fleet_quota'))).toBe(1);
    const waits = point(data, 'steadfast.rate_limit.wait', limiter('rate_limiter')) as Histogram;
    expect(waits.count).toBe(2);
    expect(waits.sum).toBeCloseTo(0.15, 9);
    expect(
      point(data, 'steadfast.rate_limit.rejections', {
        ...limiter('fleet_quota'),
        'steadfast.rate_limit.reason': 'deadline',
      }),
    ).toBe(1);
    const lease = (result: string) =>
      point(data, 'steadfast.quota.store.commands', {
        ...client,
        'steadfast.quota.lease.result': result,
      });
    expect([lease('ok'), lease('denied'), lease('error')]).toEqual([2, 1, 1]);
    const sizes = point(data, 'steadfast.quota.lease.size', client) as Histogram;
    expect([sizes.count, sizes.sum]).toEqual([2, 35]);
    expect(point(data, 'steadfast.quota.limit', client)).toBe(QUOTA_LIMIT_PER_SECOND);
    expect(point(data, 'steadfast.quota.fallback.active', client)).toBe(0);
    expect(
      point(data, 'steadfast.cooldown.transitions', {
        ...client,
        'steadfast.cooldown.change': 'started',
        'steadfast.cooldown.source': 'retry_after',
      }),
    ).toBe(1);
    expect(point(data, 'steadfast.cooldown.paused_time', client)).toBeCloseTo(2.1, 9);
    expect(point(data, 'steadfast.cooldown.active_scopes', client)).toBe(1);
    const event = (strategy: string, name: string, severity: string) =>
      point(data, 'steadfast.events', {
        ...client,
        'steadfast.event.strategy': strategy,
        'steadfast.event.name': name,
        'steadfast.event.severity': severity,
      });
    expect(event('rate_limiter', 'rejected', 'error')).toBe(1);
    expect(event('fleet_quota', 'fallback_started', 'warning')).toBe(1);
    expect(event('cooldown', 'cooldown_started', 'warning')).toBe(2);
  });

  it('remove their gauge callbacks on dispose', async () => {
    // Delta temporality: a gauge nobody observes any more reports nothing (cumulative would
    // repeat its last value).
    const otel = meterProvider(AggregationTemporality.DELTA);
    const { events, telemetry: t } = telemetry({
      tracing: false,
      metrics: false,
      otelMetrics: { meterProvider: otel.provider },
    });
    emitAdmissionEvents(events, admissionContext('weather'));
    const gauges = [
      'steadfast.quota.limit',
      'steadfast.quota.fallback.active',
      'steadfast.cooldown.active_scopes',
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

describe('span events of the admission layers', () => {
  it('add steadfast.rate_limit to the call span for attempts that waited or were refused, and only for those', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const { events } = telemetry({ tracing: { tracerProvider: provider }, metrics: false });
    const span = provider.getTracer('test').startSpan('weather GET');
    const ctx = admissionContext('weather', new Map([[CALL_SPAN_SLOT, span]]));
    emitAdmissionEvents(events, ctx);
    span.end();

    const [finished] = exporter.getFinishedSpans();
    const recorded = finished!.events.map((e) => [e.name, e.attributes]);
    // 7 rateLimit events, of which one was let straight through (rate limiter, no wait).
    expect(recorded).toEqual([
      [
        'steadfast.rate_limit',
        {
          'steadfast.rate_limit.limiter': 'rate_limiter',
          'steadfast.rate_limit.attempt': 0,
          'steadfast.rate_limit.permits': 1,
          'steadfast.rate_limit.wait_ms': 150,
        },
      ],
      [
        'steadfast.rate_limit',
        {
          'steadfast.rate_limit.limiter': 'rate_limiter',
          'steadfast.rate_limit.attempt': 0,
          'steadfast.rate_limit.permits': 1,
          'steadfast.rate_limit.wait_ms': 2500,
          'steadfast.rate_limit.reason': 'max_wait',
        },
      ],
      [
        'steadfast.rate_limit',
        {
          'steadfast.rate_limit.limiter': 'fleet_quota',
          'steadfast.rate_limit.attempt': 0,
          'steadfast.rate_limit.permits': 1,
          'steadfast.rate_limit.wait_ms': 3,
        },
      ],
      [
        'steadfast.rate_limit',
        {
          // a refusal whose permit would never come: no wait attribute (Infinity has no form)
          'steadfast.rate_limit.limiter': 'fleet_quota',
          'steadfast.rate_limit.attempt': 0,
          'steadfast.rate_limit.permits': 1,
          'steadfast.rate_limit.reason': 'deadline',
        },
      ],
      [
        'steadfast.rate_limit',
        {
          'steadfast.rate_limit.limiter': 'cooldown',
          'steadfast.rate_limit.attempt': 0,
          'steadfast.rate_limit.permits': 1,
          'steadfast.rate_limit.wait_ms': 1200,
        },
      ],
      [
        'steadfast.rate_limit',
        {
          'steadfast.rate_limit.limiter': 'cooldown',
          'steadfast.rate_limit.attempt': 0,
          'steadfast.rate_limit.permits': 1,
          'steadfast.rate_limit.wait_ms': 800,
          'steadfast.rate_limit.reason': 'max_wait',
        },
      ],
    ]);
    const text = JSON.stringify([finished!.name, finished!.attributes, finished!.events]);
    expect(text).not.toContain(SECRET_SCOPE);
    expect(text).not.toContain(OTHER_SCOPE);
  });

  it('do nothing for a call without a recording span', () => {
    const provider = new BasicTracerProvider();
    const { events } = telemetry({ tracing: { tracerProvider: provider }, metrics: false });
    expect(() => emitAdmissionEvents(events, admissionContext('weather'))).not.toThrow();
  });
});

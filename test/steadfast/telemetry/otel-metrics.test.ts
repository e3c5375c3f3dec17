/**
 * The OpenTelemetry metrics adapter (`telemetry.otelMetrics`), end to end: real clients
 * calling real loopback servers (and a loopback token endpoint), recording into a real
 * `MeterProvider` of `@opentelemetry/sdk-metrics` read through its in-memory exporter, and
 * rendered by `@opentelemetry/exporter-prometheus` as a Prometheus scrape would see it.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Attributes, type Meter, type MeterProvider, metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  AggregationTemporality,
  DataPointType,
  type Histogram,
  InMemoryMetricExporter,
  type MetricData,
  PeriodicExportingMetricReader,
  MeterProvider as SdkMeterProvider,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/client-credentials.js';
import { memoryTokenStore } from '../../../packages/steadfast/src/auth/store/memory.js';
import {
  CALL_DURATION_BUCKETS,
  createClient,
  DURATION_BUCKETS,
  OTEL_INSTRUMENT_NAMES,
  type TelemetryOptions,
} from '../../../packages/steadfast/src/index.js';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import {
  createTelemetry,
  QUOTA_LEASE_BUCKETS,
  RATE_LIMIT_WAIT_BUCKETS,
  renderMetrics,
  STALE_AGE_BUCKETS,
} from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import { PACKAGE_VERSION } from '../../../packages/steadfast/src/telemetry/version.js';
import {
  admissionContext,
  emitAdmissionEvents,
  QUOTA_LIMIT_PER_SECOND,
} from './admission-events.js';
import { FAST_RETRY, parseExposition, sampleValue, useTelemetryHarness } from './support.js';
import {
  ADAPTIVE_BOUNDS,
  emitToolboxEvents,
  THROTTLE_PROBE,
  TOOLBOX_ORIGINS,
  toolboxContext,
} from './toolbox-events.js';

const h = useTelemetryHarness();
const { server, onCleanup, tokenServer } = h;

const DOCS = readFileSync(new URL('../../../docs/telemetry.md', import.meta.url), 'utf8');

/** A real SDK MeterProvider exporting cumulative data to memory on demand. */
function meterProvider(temporality = AggregationTemporality.CUMULATIVE): {
  provider: SdkMeterProvider;
  read(): Promise<MetricData[]>;
} {
  const exporter = new InMemoryMetricExporter(temporality);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new SdkMeterProvider({ readers: [reader] });
  onCleanup(() => provider.shutdown());
  return {
    provider,
    async read() {
      exporter.reset();
      await reader.forceFlush();
      const batches = exporter.getMetrics();
      expect(batches).toHaveLength(1);
      const scopes = batches[0]!.scopeMetrics;
      expect(scopes.map((s) => [s.scope.name, s.scope.version])).toEqual([
        ['steadfast', PACKAGE_VERSION],
      ]);
      return scopes[0]!.metrics;
    },
  };
}

type ClientOptions = Parameters<typeof createClient>[0];

function client(
  baseUrl: string,
  provider: MeterProvider | undefined,
  extra: Partial<ClientOptions> = {},
) {
  const c = createClient({
    name: 'weather',
    baseUrl,
    retry: FAST_RETRY,
    telemetry: {
      tracing: false,
      metrics: false,
      otelMetrics: provider ? { meterProvider: provider } : true,
    },
    ...extra,
  } as ClientOptions);
  onCleanup(() => c.close());
  return c;
}

/** The one instrument named `name` (fails when absent). */
function instrument(data: readonly MetricData[], name: string): MetricData {
  const found = data.filter((m) => m.descriptor.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
}

/** The value (histograms: the count) of the one point of `name` with exactly `attributes`. */
function value(
  data: readonly MetricData[],
  name: string,
  attributes: Attributes,
): number | undefined {
  const metric = data.find((m) => m.descriptor.name === name);
  const point = metric?.dataPoints.find((p) => sameAttributes(p.attributes, attributes));
  if (!point) return undefined;
  return typeof point.value === 'number' ? point.value : (point.value as Histogram).count;
}

function sameAttributes(a: Attributes, b: Attributes): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

const CIRCUIT_BREAKER = {
  failureRatio: 0.5,
  minimumThroughput: 4,
  samplingDurationMs: 10_000,
  breakDurationMs: 60_000,
} as const;

const CLIENT_SECRET = 'client-secret-9f3b';
const QUERY_SECRET = 'query-secret-77aa';

/**
 * One run that makes every instrument record: a 503 → 401 → 200 call with a token from a
 * loopback token endpoint (shared store in memory), a breaker that opens and short-circuits
 * a call, and a limiter that rejects one.
 */
async function exerciseEveryInstrument(provider: MeterProvider) {
  const api = await server([
    { status: 503 },
    { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
    { status: 200 },
  ]);
  const idp = await tokenServer('tok-otel');
  const auth = clientCredentials({
    tokenUrl: idp.url,
    clientId: 'worker',
    clientSecret: CLIENT_SECRET,
    credential: 'weather-api',
    store: memoryTokenStore(),
  });
  onCleanup(() => auth.close());
  const weather = client(api.url, provider, { auth });
  await (await weather.fetch(`/forecast/oslo?city=Oslo&api_key=${QUERY_SECRET}`)).text();

  const failing = await server(() => ({ status: 503 }));
  const fragile = client(failing.url, provider, {
    name: 'fragile',
    retry: false,
    attemptTimeoutMs: 1_000,
    totalTimeoutMs: 5_000,
    circuitBreaker: CIRCUIT_BREAKER,
  });
  for (let i = 0; i < 4; i++) await (await fragile.fetch('/x')).arrayBuffer();
  await expect(fragile.fetch('/x')).rejects.toThrow(/circuit breaker/);

  const slow = await server([{ status: 200, delayMs: 100 }]);
  const narrow = client(slow.url, provider, {
    name: 'narrow',
    concurrency: { limit: 1, queue: 0 },
  });
  const first = narrow.fetch('/slow');
  await expect(narrow.fetch('/second')).rejects.toThrow();
  await (await first).arrayBuffer();

  // The admission layers' instruments, from their events as the strategies emit them
  // (admission-telemetry.test.ts reads every figure).
  const events = new ClientEvents();
  const admitted = createTelemetry(
    { tracing: false, metrics: false, otelMetrics: { meterProvider: provider } },
    {
      client: 'admitted',
      events,
      auth: undefined,
      origins: [],
      quotaLimitPerSecond: QUOTA_LIMIT_PER_SECOND,
    },
  );
  onCleanup(async () => admitted.dispose());
  emitAdmissionEvents(events, admissionContext('admitted'));

  // The toolbox strategies' instruments, the same way (toolbox-telemetry.test.ts reads
  // every figure).
  const toolboxEvents = new ClientEvents();
  const toolbox = createTelemetry(
    { tracing: false, metrics: false, otelMetrics: { meterProvider: provider } },
    {
      client: 'toolbox',
      events: toolboxEvents,
      auth: undefined,
      origins: TOOLBOX_ORIGINS,
      quotaLimitPerSecond: undefined,
      hedging: true,
      fallback: true,
      adaptiveConcurrency: ADAPTIVE_BOUNDS,
      adaptiveThrottle: true,
      throttleProbe: THROTTLE_PROBE,
    },
  );
  onCleanup(async () => toolbox.dispose());
  emitToolboxEvents(toolboxEvents, toolboxContext('toolbox'));

  return { api, failing, slow, idp };
}

type Kind = 'histogram' | 'counter' | 'gauge';

/** Every instrument: kind, unit, the attribute keys it always has, and those it may have. */
const CONTRACT: Record<
  string,
  { kind: Kind; unit: string; always: string[]; sometimes?: string[]; buckets?: readonly number[] }
> = {
  'http.client.request.duration': {
    kind: 'histogram',
    unit: 's',
    buckets: DURATION_BUCKETS,
    always: [
      'steadfast.client',
      'http.request.method',
      'server.address',
      'server.port',
      'url.scheme',
    ],
    sometimes: ['http.response.status_code', 'error.type'],
  },
  'steadfast.calls': {
    kind: 'counter',
    unit: '{call}',
    always: ['steadfast.client', 'steadfast.call.kind'],
  },
  'steadfast.call.duration': {
    kind: 'histogram',
    unit: 's',
    buckets: CALL_DURATION_BUCKETS,
    always: ['steadfast.client', 'steadfast.outcome'],
  },
  'steadfast.retries': {
    kind: 'counter',
    unit: '{retry}',
    always: ['steadfast.client', 'error.type'],
  },
  'steadfast.retry.delay': {
    kind: 'counter',
    unit: 's',
    always: ['steadfast.client', 'steadfast.retry.delay_source'],
  },
  'steadfast.events': {
    kind: 'counter',
    unit: '{event}',
    always: [
      'steadfast.client',
      'steadfast.event.strategy',
      'steadfast.event.name',
      'steadfast.event.severity',
    ],
  },
  'steadfast.circuit_breaker.state': {
    kind: 'gauge',
    unit: '1',
    always: ['steadfast.client', 'server.address', 'steadfast.circuit_breaker.state'],
  },
  'steadfast.circuit_breaker.transitions': {
    kind: 'counter',
    unit: '{transition}',
    always: [
      'steadfast.client',
      'server.address',
      'steadfast.circuit_breaker.from_state',
      'steadfast.circuit_breaker.to_state',
    ],
  },
  'steadfast.circuit_breaker.not_permitted_calls': {
    kind: 'counter',
    unit: '{call}',
    always: ['steadfast.client', 'server.address'],
  },
  'steadfast.concurrency.inflight': { kind: 'gauge', unit: '{call}', always: ['steadfast.client'] },
  'steadfast.concurrency.limit': { kind: 'gauge', unit: '{call}', always: ['steadfast.client'] },
  'steadfast.rate_limit.permits': {
    kind: 'counter',
    unit: '{permit}',
    always: ['steadfast.client', 'steadfast.rate_limit.limiter'],
  },
  'steadfast.rate_limit.wait': {
    kind: 'histogram',
    unit: 's',
    buckets: RATE_LIMIT_WAIT_BUCKETS,
    always: ['steadfast.client', 'steadfast.rate_limit.limiter'],
  },
  'steadfast.rate_limit.rejections': {
    kind: 'counter',
    unit: '{attempt}',
    always: ['steadfast.client', 'steadfast.rate_limit.limiter', 'steadfast.rate_limit.reason'],
  },
  'steadfast.quota.lease.size': {
    kind: 'histogram',
    unit: '{permit}',
    buckets: QUOTA_LEASE_BUCKETS,
    always: ['steadfast.client'],
  },
  'steadfast.quota.store.commands': {
    kind: 'counter',
    unit: '{command}',
    always: ['steadfast.client', 'steadfast.quota.lease.result'],
  },
  'steadfast.quota.fallback.active': { kind: 'gauge', unit: '1', always: ['steadfast.client'] },
  'steadfast.quota.limit': { kind: 'gauge', unit: '{permit}/s', always: ['steadfast.client'] },
  'steadfast.cooldown.transitions': {
    kind: 'counter',
    unit: '{transition}',
    always: ['steadfast.client', 'steadfast.cooldown.change', 'steadfast.cooldown.source'],
  },
  'steadfast.cooldown.paused_time': { kind: 'counter', unit: 's', always: ['steadfast.client'] },
  'steadfast.cooldown.active_scopes': {
    kind: 'gauge',
    unit: '{scope}',
    always: ['steadfast.client'],
  },
  'steadfast.token.fetches': {
    kind: 'counter',
    unit: '{fetch}',
    always: ['steadfast.credential', 'steadfast.token.result'],
    sometimes: ['error.type'],
  },
  'steadfast.token.fetch.duration': {
    kind: 'histogram',
    unit: 's',
    buckets: DURATION_BUCKETS,
    always: ['steadfast.credential', 'steadfast.token.result'],
  },
  'steadfast.token.cache.lookups': {
    kind: 'counter',
    unit: '{lookup}',
    always: ['steadfast.credential', 'steadfast.token.cache.level', 'steadfast.token.cache.result'],
  },
  'steadfast.token.invalidations': {
    kind: 'counter',
    unit: '{invalidation}',
    always: ['steadfast.credential', 'steadfast.token.invalidation.result'],
  },
  'steadfast.hedges.sent': {
    kind: 'counter',
    unit: '{attempt}',
    always: ['steadfast.client', 'server.address', 'steadfast.hedge.trigger'],
  },
  'steadfast.hedges.skipped': {
    kind: 'counter',
    unit: '{attempt}',
    always: ['steadfast.client', 'steadfast.hedge.trigger', 'steadfast.hedge.skip_reason'],
  },
  'steadfast.hedged_calls': {
    kind: 'counter',
    unit: '{call}',
    always: ['steadfast.client', 'steadfast.hedge.winner'],
    sometimes: ['server.address'],
  },
  'steadfast.hedges.cancelled': {
    kind: 'counter',
    unit: '{attempt}',
    always: ['steadfast.client'],
  },
  'steadfast.fallbacks': {
    kind: 'counter',
    unit: '{call}',
    always: [
      'steadfast.client',
      'steadfast.fallback.kind',
      'error.type',
      'steadfast.fallback.served',
    ],
  },
  'steadfast.fallback.stale_age': {
    kind: 'histogram',
    unit: 's',
    buckets: STALE_AGE_BUCKETS,
    always: ['steadfast.client'],
  },
  'steadfast.adaptive_concurrency.limit': {
    kind: 'gauge',
    unit: '{call}',
    always: ['steadfast.client', 'server.address'],
  },
  'steadfast.adaptive_concurrency.limit_bound': {
    kind: 'gauge',
    unit: '{call}',
    always: ['steadfast.client', 'steadfast.adaptive_concurrency.bound'],
  },
  'steadfast.adaptive_concurrency.limit_changes': {
    kind: 'counter',
    unit: '{change}',
    always: ['steadfast.client', 'server.address', 'steadfast.adaptive_concurrency.direction'],
  },
  'steadfast.adaptive_concurrency.inflight': {
    kind: 'gauge',
    unit: '{call}',
    always: ['steadfast.client', 'server.address'],
  },
  'steadfast.adaptive_throttle.rejection_probability': {
    kind: 'gauge',
    unit: '1',
    always: ['steadfast.client', 'server.address'],
  },
  'steadfast.token.expiry_time': { kind: 'gauge', unit: 's', always: ['steadfast.credential'] },
  'steadfast.token.store.up': { kind: 'gauge', unit: '1', always: ['steadfast.credential'] },
};

function kindOf(metric: MetricData): Kind | 'other' {
  if (metric.dataPointType === DataPointType.HISTOGRAM) return 'histogram';
  if (metric.dataPointType === DataPointType.GAUGE) return 'gauge';
  if (metric.dataPointType === DataPointType.SUM && metric.isMonotonic) return 'counter';
  return 'other';
}

describe('OpenTelemetry metrics of a scripted run', () => {
  it('create every instrument of the contract, with its kind, unit, buckets and attribute keys', async () => {
    const otel = meterProvider();
    await exerciseEveryInstrument(otel.provider);
    const data = await otel.read();

    expect(data.map((m) => m.descriptor.name).sort()).toEqual(Object.keys(CONTRACT).sort());
    expect(Object.values(OTEL_INSTRUMENT_NAMES).sort()).toEqual(Object.keys(CONTRACT).sort());
    for (const [name, expected] of Object.entries(CONTRACT)) {
      const metric = instrument(data, name);
      expect(kindOf(metric), name).toBe(expected.kind);
      expect(metric.descriptor.unit, name).toBe(expected.unit);
      expect(metric.descriptor.description, name).not.toBe('');
      expect(metric.dataPoints.length, name).toBeGreaterThan(0);
      const allowed = new Set([...expected.always, ...(expected.sometimes ?? [])]);
      for (const point of metric.dataPoints) {
        const keys = Object.keys(point.attributes);
        for (const key of expected.always) expect(keys, name).toContain(key);
        for (const key of keys) expect(allowed.has(key), `${name}: ${key}`).toBe(true);
        if (expected.buckets) {
          expect((point.value as Histogram).buckets.boundaries, name).toEqual([
            ...expected.buckets,
          ]);
        }
      }
    }
  });

  it('never put a path, a query, a token or a secret into an attribute', async () => {
    const otel = meterProvider();
    const { idp } = await exerciseEveryInstrument(otel.provider);
    const data = await otel.read();

    expect(idp.issued.length).toBeGreaterThan(0);
    const values = data.flatMap((m) =>
      m.dataPoints.flatMap((p) => Object.values(p.attributes).map(String)),
    );
    expect(values.length).toBeGreaterThan(100);
    const forbidden = [
      '/',
      '?',
      'forecast',
      'oslo',
      'Oslo',
      'api_key',
      QUERY_SECRET,
      CLIENT_SECRET,
      'tok-otel',
      'Bearer',
      ...idp.issued,
    ];
    for (const v of values) {
      for (const f of forbidden) expect(v, `an attribute value holds ${f}`).not.toContain(f);
    }
  });

  it('record each wire attempt with the HTTP semantic-convention attributes, and the call once', async () => {
    const otel = meterProvider();
    const { api } = await exerciseEveryInstrument(otel.provider);
    const data = await otel.read();

    const where = {
      'steadfast.client': 'weather',
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': api.port,
      'url.scheme': 'http',
    };
    const attempts = instrument(data, 'http.client.request.duration').dataPoints.filter(
      (p) => p.attributes['steadfast.client'] === 'weather',
    );
    expect(attempts.map((p) => p.attributes)).toEqual(
      expect.arrayContaining([
        { ...where, 'http.response.status_code': 503, 'error.type': '503' },
        { ...where, 'http.response.status_code': 401, 'error.type': '401' },
        { ...where, 'http.response.status_code': 200 },
      ]),
    );
    expect(attempts).toHaveLength(3);
    for (const p of attempts) expect((p.value as Histogram).count).toBe(1);
    expect(typeof attempts[0]!.attributes['server.port']).toBe('number');

    const client = { 'steadfast.client': 'weather' };
    expect(
      value(data, 'steadfast.calls', { ...client, 'steadfast.call.kind': 'successful_with_retry' }),
    ).toBe(1);
    expect(
      instrument(data, 'steadfast.calls').dataPoints.filter(
        (p) => p.attributes['steadfast.client'] === 'weather',
      ),
    ).toHaveLength(1);
    expect(
      value(data, 'steadfast.call.duration', { ...client, 'steadfast.outcome': 'success' }),
    ).toBe(1);
    expect(value(data, 'steadfast.retries', { ...client, 'error.type': '503' })).toBe(1);
    expect(value(data, 'steadfast.retries', { ...client, 'error.type': '401' })).toBe(1);
    expect(
      value(data, 'steadfast.retry.delay', {
        ...client,
        'steadfast.retry.delay_source': 'backoff',
      }),
    ).toBeGreaterThan(0);
    const event = (strategy: string, name: string, severity: string) =>
      value(data, 'steadfast.events', {
        ...client,
        'steadfast.event.strategy': strategy,
        'steadfast.event.name': name,
        'steadfast.event.severity': severity,
      });
    expect(event('retry', 'retry', 'warning')).toBe(1);
    expect(event('reauthorize', 'resent', 'warning')).toBe(1);
    expect(value(data, 'steadfast.concurrency.limit', client)).toBe(1000);
    expect(value(data, 'steadfast.concurrency.inflight', client)).toBe(0);
  });

  it('report the breaker per origin: open after it opened, the transition, the short-circuited call', async () => {
    const otel = meterProvider();
    const { failing } = await exerciseEveryInstrument(otel.provider);
    const data = await otel.read();

    const where = { 'steadfast.client': 'fragile', 'server.address': '127.0.0.1' };
    const state = (s: string) =>
      value(data, 'steadfast.circuit_breaker.state', {
        ...where,
        'steadfast.circuit_breaker.state': s,
      });
    expect([state('closed'), state('open'), state('half_open')]).toEqual([0, 1, 0]);
    const transition = (from: string, to: string) =>
      value(data, 'steadfast.circuit_breaker.transitions', {
        ...where,
        'steadfast.circuit_breaker.from_state': from,
        'steadfast.circuit_breaker.to_state': to,
      });
    expect(transition('closed', 'open')).toBe(1);
    // Every transition series exists at 0 before its first transition (increase() sees it).
    expect(transition('open', 'half_open')).toBe(0);
    expect(transition('half_open', 'closed')).toBe(0);
    expect(transition('half_open', 'open')).toBe(0);
    expect(value(data, 'steadfast.circuit_breaker.not_permitted_calls', where)).toBe(1);
    const client = { 'steadfast.client': 'fragile' };
    expect(
      value(data, 'steadfast.calls', { ...client, 'steadfast.call.kind': 'not_permitted' }),
    ).toBe(1);
    expect(
      value(data, 'steadfast.calls', { ...client, 'steadfast.call.kind': 'failed_without_retry' }),
    ).toBe(4);
    expect(
      value(data, 'steadfast.call.duration', { ...client, 'steadfast.outcome': 'rejected' }),
    ).toBe(1);
    for (const [name, severity] of [
      ['opened', 'error'],
      ['rejected', 'error'],
    ]) {
      expect(
        value(data, 'steadfast.events', {
          ...client,
          'steadfast.event.strategy': 'circuit_breaker',
          'steadfast.event.name': name!,
          'steadfast.event.severity': severity!,
        }),
      ).toBe(1);
    }
    // The weather client's breaker never left closed.
    expect(
      value(data, 'steadfast.circuit_breaker.state', {
        'steadfast.client': 'weather',
        'server.address': '127.0.0.1',
        'steadfast.circuit_breaker.state': 'closed',
      }),
    ).toBe(1);
    expect(failing.requests).toHaveLength(4);
  });

  it('count a limiter rejection as not_permitted and report the limit and calls in flight', async () => {
    const otel = meterProvider();
    await exerciseEveryInstrument(otel.provider);
    const data = await otel.read();

    const client = { 'steadfast.client': 'narrow' };
    expect(
      value(data, 'steadfast.calls', { ...client, 'steadfast.call.kind': 'not_permitted' }),
    ).toBe(1);
    expect(
      value(data, 'steadfast.calls', {
        ...client,
        'steadfast.call.kind': 'successful_without_retry',
      }),
    ).toBe(1);
    expect(value(data, 'steadfast.concurrency.limit', client)).toBe(1);
    expect(value(data, 'steadfast.concurrency.inflight', client)).toBe(0);
    expect(
      value(data, 'steadfast.events', {
        ...client,
        'steadfast.event.strategy': 'concurrency_limiter',
        'steadfast.event.name': 'rejected',
        'steadfast.event.severity': 'error',
      }),
    ).toBe(1);
  });

  it('count token fetches, lookups and invalidations per credential, and the token in use', async () => {
    const otel = meterProvider();
    const { idp } = await exerciseEveryInstrument(otel.provider);
    const data = await otel.read();

    const credential = { 'steadfast.credential': 'weather-api' };
    expect(idp.issued).toHaveLength(2);
    expect(
      value(data, 'steadfast.token.fetches', {
        ...credential,
        'steadfast.token.result': 'success',
      }),
    ).toBe(2);
    expect(
      value(data, 'steadfast.token.fetch.duration', {
        ...credential,
        'steadfast.token.result': 'success',
      }),
    ).toBe(2);
    expect(
      value(data, 'steadfast.token.invalidations', {
        ...credential,
        'steadfast.token.invalidation.result': 'deleted',
      }),
    ).toBe(1);
    const lookups = instrument(data, 'steadfast.token.cache.lookups').dataPoints;
    expect(lookups.map((p) => p.attributes['steadfast.token.cache.level'])).toContain('store');
    expect(
      value(data, 'steadfast.token.cache.lookups', {
        ...credential,
        'steadfast.token.cache.level': 'local',
        'steadfast.token.cache.result': 'hit',
      }),
    ).toBeGreaterThanOrEqual(1);
    const expiry = value(data, 'steadfast.token.expiry_time', credential)!;
    expect(expiry).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(expiry).toBeLessThanOrEqual(Date.now() / 1000 + 3600);
    expect(value(data, 'steadfast.token.store.up', credential)).toBe(1);
  });

  it('count token fetches once per token manager, however many clients share it', async () => {
    const otel = meterProvider();
    const api = await server();
    const idp = await tokenServer('tok-shared');
    const auth = clientCredentials({
      tokenUrl: idp.url,
      clientId: 'worker',
      clientSecret: 'x',
      credential: 'shared',
    });
    onCleanup(() => auth.close());
    const first = client(api.url, otel.provider, { auth });
    const second = client(api.url, otel.provider, { auth, name: 'weather-2' });

    await (await first.fetch('/a')).text();
    await (await second.fetch('/b')).text();

    const data = await otel.read();
    expect(idp.issued).toHaveLength(1);
    expect(
      value(data, 'steadfast.token.fetches', {
        'steadfast.credential': 'shared',
        'steadfast.token.result': 'success',
      }),
    ).toBe(1);
  });

  it('bound server.address to the configured origins: any other host is _OTHER, without a port', async () => {
    const otel = meterProvider();
    const configured = await server();
    const other = await server([{ status: 200 }]);
    const weather = client(configured.url, otel.provider);

    await (await weather.fetch(`${other.url}/elsewhere?token=${QUERY_SECRET}`)).text();

    const data = await otel.read();
    const attempts = instrument(data, 'http.client.request.duration').dataPoints;
    expect(attempts.map((p) => p.attributes)).toEqual([
      {
        'steadfast.client': 'weather',
        'http.request.method': 'GET',
        'server.address': '_OTHER',
        'url.scheme': 'http',
        'http.response.status_code': 200,
      },
    ]);
  });

  it('map an unknown method and an unregistered status onto the bounded vocabulary', async () => {
    const otel = meterProvider();
    const api = await server([{ status: 599 }]);
    const weather = client(api.url, otel.provider, { retry: false });

    await (await weather.fetch('/', { method: 'PURGE' })).text();

    const data = await otel.read();
    const [attempt] = instrument(data, 'http.client.request.duration').dataPoints;
    // 599 is no registered status code: no status attribute (a number has no `_OTHER`), and
    // its error.type is `_OTHER` (outside the closed list).
    expect(attempt!.attributes).toEqual({
      'steadfast.client': 'weather',
      'http.request.method': '_OTHER',
      'server.address': '127.0.0.1',
      'server.port': api.port,
      'url.scheme': 'http',
      'error.type': '_OTHER',
    });
  });

  it('hand the SDK the same attribute object for every observation of one key', async () => {
    const seen = new Map<string, Set<Attributes>>();
    const { provider: sdk } = meterProvider();
    // A provider whose instruments note every attribute object they are given.
    const spying: MeterProvider = {
      getMeter(name, version, options) {
        const meter = sdk.getMeter(name, version, options);
        return new Proxy(meter, {
          get(target, property, receiver) {
            const original = Reflect.get(target, property, receiver);
            if (property !== 'createHistogram' && property !== 'createCounter') return original;
            return (instrumentName: string, options?: object) => {
              const made = original.call(target, instrumentName, options);
              const note = (attributes: Attributes) => {
                const key = `${instrumentName} ${JSON.stringify(attributes)}`;
                if (!seen.has(key)) seen.set(key, new Set());
                seen.get(key)!.add(attributes);
              };
              return {
                record(v: number, a: Attributes) {
                  note(a);
                  made.record(v, a);
                },
                add(v: number, a: Attributes) {
                  note(a);
                  made.add(v, a);
                },
              };
            };
          },
        }) as Meter;
      },
    };
    const api = await server();
    const weather = client(api.url, spying);

    for (let i = 0; i < 5; i++) await (await weather.fetch(`/item/${i}?q=${i}`)).text();

    const attempt = [...seen].filter(([key]) => key.startsWith('http.client.request.duration'));
    expect(attempt).toHaveLength(1);
    expect(attempt[0]![1].size).toBe(1);
    const calls = [...seen].filter(([key]) => key.startsWith('steadfast.calls '));
    expect(calls).toHaveLength(1);
    expect(calls[0]![1].size).toBe(1);
    for (const [key, objects] of seen) expect(objects.size, key).toBe(1);
  });
});

describe('OpenTelemetry metrics as a Prometheus scrape sees them', () => {
  it('renders only metric names that docs/telemetry.md documents', async () => {
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const provider = new SdkMeterProvider({ readers: [exporter] });
    onCleanup(() => provider.shutdown());
    await exerciseEveryInstrument(provider);

    // The app's own endpoint: the exporter's request handler on a loopback server.
    const http = createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    onCleanup(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const response = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
    expect(response.status).toBe(200);
    const text = await response.text();

    const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]);
    // target_info plus one family per instrument.
    expect(families).toHaveLength(Object.keys(OTEL_INSTRUMENT_NAMES).length + 1);
    const names = new Set(families.map(([name]) => name));
    expect(names).toContain('http_client_request_duration');
    expect(names).toContain('steadfast_calls_total');
    for (const name of names) {
      expect(DOCS, `docs/telemetry.md does not document ${name}`).toContain(`\`${name}\``);
    }
    // Every sample belongs to a declared family (a histogram's _bucket, _sum and _count too).
    const histograms = new Set(families.filter(([, t]) => t === 'histogram').map(([n]) => n));
    const samples = [...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1]!);
    expect(samples.length).toBeGreaterThan(50);
    for (const sample of samples) {
      const base = sample.replace(/_(bucket|sum|count)$/, '');
      expect(names.has(sample) || histograms.has(base), sample).toBe(true);
    }
    // Every instrument is documented under its OpenTelemetry name too.
    for (const name of Object.values(OTEL_INSTRUMENT_NAMES)) {
      expect(DOCS, `docs/telemetry.md does not document ${name}`).toContain(`\`${name}\``);
    }
  });
});

describe('both metrics adapters', () => {
  it('record the same counts when both are on', async () => {
    const otel = meterProvider();
    const registry = createOpenMetricsRegistry();
    const api = await server([{ status: 503 }, { status: 503 }, { status: 200 }, { status: 404 }]);
    const weather = client(api.url, undefined, {
      telemetry: {
        tracing: false,
        metrics: { registry },
        otelMetrics: { meterProvider: otel.provider },
      },
    });

    await (await weather.fetch('/a')).text();
    await (await weather.fetch('/b')).text();
    await (await weather.fetch('/c')).text();

    const data = await otel.read();
    const samples = parseExposition(await renderMetrics(registry, 'text'));
    const client_ = { 'steadfast.client': 'weather' };
    for (const kind of [
      'successful_with_retry',
      'successful_without_retry',
      'failed_without_retry',
    ]) {
      const prom = sampleValue(samples, 'steadfast_calls_total', { client: 'weather', kind });
      expect(prom, kind).toBeGreaterThan(0);
      expect(
        value(data, 'steadfast.calls', { ...client_, 'steadfast.call.kind': kind }),
        kind,
      ).toBe(prom);
    }
    for (const status of [200, 404, 503]) {
      const prom = sampleValue(samples, 'http_client_request_duration_seconds_count', {
        client: 'weather',
        http_response_status_code: String(status),
      });
      const otelCount = instrument(data, 'http.client.request.duration')
        .dataPoints.filter((p) => p.attributes['http.response.status_code'] === status)
        .reduce((n, p) => n + (p.value as Histogram).count, 0);
      expect(otelCount, String(status)).toBe(prom);
    }
    expect(value(data, 'steadfast.retries', { ...client_, 'error.type': '503' })).toBe(
      sampleValue(samples, 'steadfast_retries_total', { client: 'weather', reason: '503' }),
    );
    expect(
      value(data, 'steadfast.events', {
        ...client_,
        'steadfast.event.strategy': 'retry',
        'steadfast.event.name': 'retry',
        'steadfast.event.severity': 'warning',
      }),
    ).toBe(2);
    expect(
      sampleValue(samples, 'steadfast_events_total', {
        client: 'weather',
        strategy: 'retry',
        event: 'retry',
        severity: 'warning',
      }),
    ).toBe(2);
  });

  it('subscribe nothing when both are off, and otelMetrics is off by default', async () => {
    const api = await server();
    const listening = (events: object) =>
      Object.entries(events)
        .filter(([, e]) => (e as { hasListeners: boolean }).hasListeners)
        .map(([name]) => name);
    const idp = await tokenServer('tok-off');
    const auth = clientCredentials({ tokenUrl: idp.url, clientId: 'worker', clientSecret: 'x' });
    onCleanup(() => auth.close());

    const bothOff: TelemetryOptions[] = [
      { tracing: false, metrics: false },
      { tracing: false, metrics: false, otelMetrics: false },
    ];
    for (const telemetry of bothOff) {
      const off = createClient({ name: 'off', baseUrl: api.url, auth, telemetry });
      onCleanup(() => off.close());
      await (await off.fetch('/')).text();
      expect(listening(off.events)).toEqual([]);
      expect(listening(auth.tokenEvents)).toEqual([]);
    }

    const otel = meterProvider();
    const on = client(api.url, otel.provider, { auth });
    expect(listening(on.events)).toEqual(
      expect.arrayContaining(['callEnd', 'attemptEnd', 'retry', 'breakerTransition', 'limiter']),
    );
    expect(listening(auth.tokenEvents)).toEqual(
      expect.arrayContaining(['fetchEnd', 'cacheLookup', 'invalidation', 'tokenInUse']),
    );
    await on.close();
    expect(listening(on.events)).toEqual([]);
    expect(listening(auth.tokenEvents)).toEqual([]);
  });

  it('with otelMetrics: true, record into the global MeterProvider, and subscribe nothing while there is none', async () => {
    const api = await server();
    const withoutProvider = client(api.url, undefined);
    expect(withoutProvider.events.attemptEnd.hasListeners).toBe(false);

    const otel = meterProvider();
    expect(metrics.setGlobalMeterProvider(otel.provider)).toBe(true);
    onCleanup(async () => metrics.disable());
    const withGlobal = client(api.url, undefined);
    await (await withGlobal.fetch('/')).text();

    const data = await otel.read();
    expect(
      value(data, 'steadfast.calls', {
        'steadfast.client': 'weather',
        'steadfast.call.kind': 'successful_without_retry',
      }),
    ).toBe(1);
  });

  it('stop observing a closed client: its gauges disappear, other clients of the meter stay', async () => {
    // Delta: a cumulative SDK reader keeps reporting the last value of a gauge nobody
    // observes any more, so only a delta reader shows that the callbacks are gone.
    const otel = meterProvider(AggregationTemporality.DELTA);
    const api = await server();
    const staying = client(api.url, otel.provider, { name: 'staying' });
    const leaving = client(api.url, otel.provider, { name: 'leaving' });
    await (await staying.fetch('/')).text();
    await (await leaving.fetch('/')).text();

    const clientsOf = (data: MetricData[], name: string) =>
      new Set(instrument(data, name).dataPoints.map((p) => p.attributes['steadfast.client']));
    const before = await otel.read();
    expect(clientsOf(before, 'steadfast.circuit_breaker.state')).toEqual(
      new Set(['staying', 'leaving']),
    );
    expect(clientsOf(before, 'steadfast.concurrency.limit')).toEqual(
      new Set(['staying', 'leaving']),
    );

    await leaving.close();
    const after = await otel.read();
    expect(clientsOf(after, 'steadfast.circuit_breaker.state')).toEqual(new Set(['staying']));
    expect(clientsOf(after, 'steadfast.concurrency.inflight')).toEqual(new Set(['staying']));
  });

  it('dispose through createTelemetry removes every listener and callback it added', () => {
    const events = new ClientEvents();
    const otel = meterProvider();
    const telemetry = createTelemetry(
      { tracing: false, metrics: false, otelMetrics: { meterProvider: otel.provider } },
      {
        client: 'c',
        events,
        auth: undefined,
        origins: ['http://127.0.0.1:1'],
        quotaLimitPerSecond: undefined,
      },
    );
    expect(events.attemptEnd.hasListeners).toBe(true);
    telemetry.dispose();
    expect(
      Object.values(events).filter((e) => (e as { hasListeners: boolean }).hasListeners),
    ).toHaveLength(0);
  });
});

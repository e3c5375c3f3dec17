import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { InvalidConfigurationError } from '../../../packages/steadfast/src/errors.js';
import { createClient, metricsRouter } from '../../../packages/steadfast/src/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import {
  type ResolvedTelemetry,
  resolveTelemetry,
} from '../../../packages/steadfast/src/telemetry/options.js';
import { setUpTracing } from './support.js';

/** The error `make` throws (or undefined), for table rows that expect one. */
function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}

const clashing = createOpenMetricsRegistry();
new Counter({ name: 'steadfast_calls_total', help: 'not ours', registers: [clashing] });

// [what, telemetry option, field the error must name]
const BAD: [string, unknown, string][] = [
  ['null telemetry', null, 'telemetry'],
  ['a string', 'on', 'telemetry'],
  ['an unknown key', { traces: {} }, 'telemetry.traces'],
  ['null tracing', { tracing: null }, 'telemetry.tracing'],
  ['tracing: true', { tracing: true }, 'telemetry.tracing'],
  ['tracing as a string', { tracing: 'otel' }, 'telemetry.tracing'],
  ['a typo in tracing', { tracing: { provider: {} } }, 'telemetry.tracing.provider'],
  ['a null provider', { tracing: { tracerProvider: null } }, 'telemetry.tracing.tracerProvider'],
  ['an empty object', { tracing: { tracerProvider: {} } }, 'telemetry.tracing.tracerProvider'],
  [
    'getTracer not a function',
    { tracing: { tracerProvider: { getTracer: 1 } } },
    'telemetry.tracing.tracerProvider',
  ],
  [
    'getTracer gives nothing',
    { tracing: { tracerProvider: { getTracer: () => undefined } } },
    'telemetry.tracing.tracerProvider',
  ],
  [
    'getTracer throws',
    {
      tracing: {
        tracerProvider: {
          getTracer: () => {
            throw new Error('no');
          },
        },
      },
    },
    'telemetry.tracing.tracerProvider',
  ],
  [
    'a provider name',
    { tracing: { tracerProvider: 'global' } },
    'telemetry.tracing.tracerProvider',
  ],
  ['null metrics', { metrics: null }, 'telemetry.metrics'],
  ['metrics: true', { metrics: true }, 'telemetry.metrics'],
  ['metrics as an array', { metrics: [] }, 'telemetry.metrics'],
  ['a typo in metrics', { metrics: { registery: {} } }, 'telemetry.metrics.registery'],
  ['a null registry', { metrics: { registry: null } }, 'telemetry.metrics.registry'],
  ['an empty object', { metrics: { registry: {} } }, 'telemetry.metrics.registry'],
  ['a Map', { metrics: { registry: new Map() } }, 'telemetry.metrics.registry'],
  ['a registry name', { metrics: { registry: 'default' } }, 'telemetry.metrics.registry'],
  [
    'a registry holding another steadfast_calls_total',
    { metrics: { registry: clashing } },
    'telemetry.metrics.registry',
  ],
  ...(
    [
      ['a string cap', '2000'],
      ['a cap below 100', 99],
      ['a fractional cap', 150.5],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['a negative cap', -1],
      ['a null cap', null],
      ['a huge cap', 1e8],
    ] as const
  ).map(
    ([what, cap]) =>
      [what, { metrics: { maxSeriesPerFamily: cap } }, 'telemetry.metrics.maxSeriesPerFamily'] as [
        string,
        unknown,
        string,
      ],
  ),
  ['null otelMetrics', { otelMetrics: null }, 'telemetry.otelMetrics'],
  ['otelMetrics as a string', { otelMetrics: 'otlp' }, 'telemetry.otelMetrics'],
  ['otelMetrics as an array', { otelMetrics: [] }, 'telemetry.otelMetrics'],
  ['a typo in otelMetrics', { otelMetrics: { provider: {} } }, 'telemetry.otelMetrics.provider'],
  [
    'a null meter provider',
    { otelMetrics: { meterProvider: null } },
    'telemetry.otelMetrics.meterProvider',
  ],
  [
    'an empty object as meter provider',
    { otelMetrics: { meterProvider: {} } },
    'telemetry.otelMetrics.meterProvider',
  ],
  [
    'a TracerProvider as meter provider',
    { otelMetrics: { meterProvider: { getTracer: () => ({}) } } },
    'telemetry.otelMetrics.meterProvider',
  ],
  [
    'getMeter gives nothing',
    { otelMetrics: { meterProvider: { getMeter: () => undefined } } },
    'telemetry.otelMetrics.meterProvider',
  ],
  [
    'getMeter gives a meter without instruments',
    { otelMetrics: { meterProvider: { getMeter: () => ({ createCounter: () => ({}) }) } } },
    'telemetry.otelMetrics.meterProvider',
  ],
  [
    'getMeter throws',
    {
      otelMetrics: {
        meterProvider: {
          getMeter: () => {
            throw new Error('no');
          },
        },
      },
    },
    'telemetry.otelMetrics.meterProvider',
  ],
];

const make = (telemetry: unknown) =>
  createClient({
    name: 'opts',
    baseUrl: 'http://127.0.0.1:1',
    telemetry: telemetry as never,
  });

describe('telemetry options of createClient', () => {
  it.each(BAD)(
    'refuses %s with InvalidConfigurationError naming the field',
    (_, telemetry, field) => {
      const error = thrown(() => make(telemetry));
      expect(error).toBeInstanceOf(InvalidConfigurationError);
      expect((error as InvalidConfigurationError).field).toBe(field);
      expect((error as Error).message).toContain(`\`${field}\``);
    },
  );

  it('accepts what the docs show: tracing and metrics on unless false, otelMetrics off unless true or an object', () => {
    const { provider } = setUpTracing();
    const registry = createOpenMetricsRegistry();
    const meterProvider = new MeterProvider();
    const good: [unknown, ResolvedTelemetry][] = [
      [undefined, { tracing: {}, metrics: {}, otelMetrics: false }],
      [{}, { tracing: {}, metrics: {}, otelMetrics: false }],
      [
        { tracing: false, metrics: false },
        { tracing: false, metrics: false, otelMetrics: false },
      ],
      [
        { tracing: {}, metrics: {} },
        { tracing: {}, metrics: {}, otelMetrics: false },
      ],
      [
        { tracing: { tracerProvider: provider } },
        { tracing: { tracerProvider: provider }, metrics: {}, otelMetrics: false },
      ],
      [{ metrics: { registry } }, { tracing: {}, metrics: { registry }, otelMetrics: false }],
      [
        { metrics: { registry, maxSeriesPerFamily: 100 } },
        { tracing: {}, metrics: { registry, maxSeriesPerFamily: 100 }, otelMetrics: false },
      ],
      [
        { metrics: { maxSeriesPerFamily: 10_000_000 } },
        { tracing: {}, metrics: { maxSeriesPerFamily: 10_000_000 }, otelMetrics: false },
      ],
      // OpenTelemetry metrics: off unless asked for; `true` is `{}`.
      [{ otelMetrics: false }, { tracing: {}, metrics: {}, otelMetrics: false }],
      [{ otelMetrics: true }, { tracing: {}, metrics: {}, otelMetrics: {} }],
      [{ otelMetrics: {} }, { tracing: {}, metrics: {}, otelMetrics: {} }],
      [
        { metrics: false, otelMetrics: { meterProvider } },
        { tracing: {}, metrics: false, otelMetrics: { meterProvider } },
      ],
    ];
    for (const [telemetry, resolved] of good) {
      expect(resolveTelemetry(telemetry)).toEqual(resolved);
    }
  });
});

const registry = createOpenMetricsRegistry();

// [what, metricsRouter options, field]
const BAD_ROUTER: [string, unknown, string][] = [
  ['null', null, 'options'],
  ['a string', '/metrics', 'options'],
  ['an unknown key', { path: '/metrics' }, 'path'],
  ['a null registry', { registry: null }, 'registry'],
  ['a registry that is not one', { registry: {} }, 'registry'],
  ['a path without /', { metricsPath: 'metrics' }, 'metricsPath'],
  ['a path with a query', { metricsPath: '/metrics?x=1' }, 'metricsPath'],
  ['an empty path', { metricsPath: '' }, 'metricsPath'],
  ['a numeric path', { healthPath: 200 }, 'healthPath'],
  ['the same two paths', { metricsPath: '/m', healthPath: '/m' }, 'healthPath'],
  ['a health that is not a function', { health: true }, 'health'],
];

describe('metricsRouter options', () => {
  it.each(BAD_ROUTER)('refuses %s naming the field', (_, options, field) => {
    const error = thrown(() => metricsRouter(options as never));
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).field).toBe(field);
  });

  it('serves the documented forms on their paths', async () => {
    const answers = async (handler: ReturnType<typeof metricsRouter>, paths: string[]) => {
      const server = createServer((req, res) =>
        handler(req, res, () => {
          res.statusCode = 404;
          res.end();
        }),
      );
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      try {
        const statuses: number[] = [];
        for (const path of paths) {
          const response = await fetch(`http://127.0.0.1:${port}${path}`);
          await response.arrayBuffer();
          statuses.push(response.status);
        }
        return statuses;
      } finally {
        server.close();
      }
    };
    expect(await answers(metricsRouter(), ['/metrics', '/healthz', '/ops/metrics'])).toEqual([
      200, 200, 404,
    ]);
    expect(await answers(metricsRouter({}), ['/metrics', '/healthz'])).toEqual([200, 200]);
    const custom = metricsRouter({
      registry,
      metricsPath: '/ops/metrics',
      healthPath: '/ops/health',
    });
    expect(await answers(custom, ['/ops/metrics', '/ops/health', '/metrics'])).toEqual([
      200, 200, 404,
    ]);
    expect(await answers(metricsRouter({ health: () => false }), ['/healthz'])).toEqual([503]);
  });
});

import { Counter, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  BindableCounter,
  BindableHistogram,
  bindCounter,
  bindHistogram,
} from '../../../packages/steadfast/src/telemetry/metrics/bound-series.js';
import { renderMetrics } from '../../../packages/steadfast/src/telemetry/metrics/exposition.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];
const LABELS = ['client', 'code', 'error_type'] as const;
/** Values across every bucket, exactly on bounds, past the last one, and zero. */
const VALUES = [0, 0.001, 0.005, 0.0051, 0.02, 0.05, 0.09, 0.5, 0.7, 1, 1.5, 30];
const SETS: Record<string, string>[] = [
  { client: 'a', code: '200' },
  { client: 'a', code: '503', error_type: '503' },
  { client: 'b', code: '200', error_type: '' },
];

/** The same observations into prom-client's own Histogram and into a BindableHistogram. */
async function bothRegistries(openMetrics: boolean) {
  const make = () => (openMetrics ? createOpenMetricsRegistry() : new Registry());
  const plainRegistry = make();
  const boundRegistry = make();
  const config = (registry: Registry<RegistryContentType>) => ({
    name: 'd_seconds',
    help: 'd',
    labelNames: LABELS,
    buckets: BUCKETS,
    registers: [registry],
    enableExemplars: openMetrics,
  });
  const plain = new Histogram(config(plainRegistry));
  const bound = new BindableHistogram(config(boundRegistry));
  const exemplar = { trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' };
  for (const labels of SETS) {
    const series = bound.bind(labels);
    for (const value of VALUES) {
      if (openMetrics) {
        plain.observe({ labels, value, exemplarLabels: exemplar } as never);
        series.observe(value, exemplar);
      } else {
        plain.observe(labels, value);
        series.observe(value);
      }
    }
  }
  return { plainRegistry, boundRegistry, plain, bound };
}

/** Exemplar timestamps differ between two runs: compare without them. */
const withoutTimestamps = (text: string) => text.replace(/ \d+\.\d+$/gm, ' T');

describe('BindableHistogram', () => {
  it('renders exactly what prom-client renders for the same observations, in both formats and through prom-client itself', async () => {
    for (const openMetrics of [false, true]) {
      const { plainRegistry, boundRegistry } = await bothRegistries(openMetrics);
      for (const format of ['text', 'openmetrics'] as const) {
        expect(withoutTimestamps(await renderMetrics(boundRegistry, format))).toBe(
          withoutTimestamps(await renderMetrics(plainRegistry, format)),
        );
      }
      expect(withoutTimestamps(await boundRegistry.metrics())).toBe(
        withoutTimestamps(await plainRegistry.metrics()),
      );
      expect(await boundRegistry.getMetricsAsJSON()).toEqual(
        await plainRegistry.getMetricsAsJSON(),
      );
    }
  });

  it('records observe() calls through the public API into the same series as the bound one', async () => {
    const registry = new Registry();
    const h = new BindableHistogram({
      name: 'x_seconds',
      help: 'x',
      labelNames: ['client'],
      buckets: BUCKETS,
      registers: [registry],
    });
    h.bind({ client: 'a' }).observe(0.02);
    h.observe({ client: 'a' }, 0.03);
    const text = await registry.metrics();
    expect(text).toContain('x_seconds_count{client="a"} 2');
    expect(text.match(/x_seconds_count/g)).toHaveLength(1);
    expect(() => h.observe({ nope: 'a' } as never, 1)).toThrow(/nope/);
  });

  it('starts from zero after registry.resetMetrics()', async () => {
    const registry = new Registry();
    const h = new BindableHistogram({
      name: 'r_seconds',
      help: 'r',
      labelNames: ['client'],
      registers: [registry],
    });
    const series = h.bind({ client: 'a' });
    series.observe(0.2);
    registry.resetMetrics();
    series.observe(0.3);
    expect(await registry.metrics()).toContain('r_seconds_count{client="a"} 1');
  });

  it('a histogram another copy created is recorded through its own observe()', async () => {
    const registry = createOpenMetricsRegistry();
    const foreign = new Histogram({
      name: 'f_seconds',
      help: 'f',
      labelNames: ['client'],
      registers: [registry],
      enableExemplars: true,
    });
    const series = bindHistogram(foreign, { client: 'a' });
    series.observe(0.2, {
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
    });
    series.observe(0.3);
    const text = await renderMetrics(registry, 'openmetrics');
    expect(text).toContain('f_seconds_count{client="a"} 2');
    expect(text).toContain('trace_id="0af7651916cd43dd8448eb211c80319c"');
  });
});

describe('BindableCounter', () => {
  it('shows a bound series at 0 from the start, and every increment at the next read', async () => {
    const registry = new Registry();
    const c = new BindableCounter({
      name: 'c_total',
      help: 'c',
      labelNames: ['kind'],
      registers: [registry],
    });
    const series = c.bind({ kind: 'x' });
    expect(await registry.metrics()).toContain('c_total{kind="x"} 0');
    series.inc();
    series.inc(2.5);
    c.inc({ kind: 'x' }, 1);
    expect(await registry.metrics()).toContain('c_total{kind="x"} 4.5');
    expect((await c.get()).values).toEqual([{ value: 4.5, labels: { kind: 'x' } }]);
    series.inc();
    registry.resetMetrics();
    series.inc();
    expect(await registry.metrics()).toContain('c_total{kind="x"} 1');
  });

  it('a counter another copy created is incremented through its own inc()', async () => {
    const registry = new Registry();
    const foreign = new Counter({
      name: 'g_total',
      help: 'g',
      labelNames: ['kind'],
      registers: [registry],
    });
    bindCounter(foreign, { kind: 'y' }).inc(3);
    expect(await registry.metrics()).toContain('g_total{kind="y"} 3');
  });
});

/**
 * Reading what the OpenTelemetry twins of the metric families recorded: a real SDK
 * MeterProvider exporting to memory on demand, and the data points of one instrument.
 */
import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { expect } from 'vitest';

/**
 * A real SDK MeterProvider exporting cumulative (or `temporality`) data to memory when read;
 * `onCleanup` receives its shutdown.
 */
export function inMemoryMeterProvider(
  onCleanup: (cleanup: () => unknown) => void,
  temporality = AggregationTemporality.CUMULATIVE,
) {
  const exporter = new InMemoryMetricExporter(temporality);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  onCleanup(() => provider.shutdown());
  return {
    provider,
    async read(): Promise<MetricData[]> {
      exporter.reset();
      await reader.forceFlush();
      return exporter.getMetrics().flatMap((b) => b.scopeMetrics.flatMap((s) => s.metrics));
    },
  };
}

/** The data points of the instrument `name` (which must be there). */
export function points(data: readonly MetricData[], name: string) {
  const metric = data.find((m) => m.descriptor.name === name);
  expect(metric, name).toBeDefined();
  return metric!.dataPoints;
}

/** The value (histograms: count and sum) of the one point with exactly `attributes`. */
export function point(data: readonly MetricData[], name: string, attributes: Attributes) {
  const found = points(data, name).filter((p) => {
    const keys = Object.keys(p.attributes);
    return (
      keys.length === Object.keys(attributes).length &&
      keys.every((k) => p.attributes[k] === attributes[k])
    );
  });
  expect(found, `${name} ${JSON.stringify(attributes)}`).toHaveLength(1);
  const value = found[0]!.value;
  return typeof value === 'number' ? value : (value as Histogram);
}

/** What an OpenTelemetry instrument must be: its kind, unit, attribute keys and buckets. */
export interface InstrumentContract {
  readonly kind: 'counter' | 'histogram' | 'gauge';
  readonly unit: string;
  /** Keys every data point has. */
  readonly attributes: readonly string[];
  /** Keys some data points have besides those. */
  readonly sometimes?: readonly string[];
  readonly buckets?: readonly number[];
}

/**
 * Every instrument of `contract` was recorded, as the contract says: kind, unit, a real
 * description, data points with exactly the allowed attribute keys, the histogram buckets.
 * And each of `names` (keys of `OTEL_INSTRUMENT_NAMES`) is in the contract.
 */
export function expectInstrumentContract(
  data: readonly MetricData[],
  contract: Readonly<Record<string, InstrumentContract>>,
  names: readonly string[],
  instrumentNames: Readonly<Record<string, string>>,
): void {
  for (const key of names) expect(Object.keys(contract), key).toContain(instrumentNames[key]);
  for (const [name, expected] of Object.entries(contract)) {
    const metric = data.find((m) => m.descriptor.name === name);
    expect(metric, name).toBeDefined();
    const kind =
      metric!.dataPointType === DataPointType.HISTOGRAM
        ? 'histogram'
        : metric!.dataPointType === DataPointType.GAUGE
          ? 'gauge'
          : metric!.dataPointType === DataPointType.SUM && metric!.isMonotonic
            ? 'counter'
            : 'other';
    expect(kind, name).toBe(expected.kind);
    expect(metric!.descriptor.unit, name).toBe(expected.unit);
    expect(metric!.descriptor.description.length, name).toBeGreaterThan(20);
    expect(metric!.dataPoints.length, name).toBeGreaterThan(0);
    const allowed = new Set([...expected.attributes, ...(expected.sometimes ?? [])]);
    for (const p of metric!.dataPoints) {
      const keys = Object.keys(p.attributes);
      for (const key of expected.attributes) expect(keys, name).toContain(key);
      for (const key of keys) expect(allowed.has(key), `${name}: ${key}`).toBe(true);
      if (expected.buckets) {
        expect((p.value as Histogram).buckets.boundaries, name).toEqual([...expected.buckets]);
      }
    }
  }
}

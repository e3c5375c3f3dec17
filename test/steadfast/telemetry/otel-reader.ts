/**
 * Reading what the OpenTelemetry twins of the metric families recorded: a real SDK
 * MeterProvider exporting to memory on demand, and the data points of one instrument.
 */
import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
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

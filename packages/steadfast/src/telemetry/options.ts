import type { TracerProvider } from '@opentelemetry/api';
import {
  type Bag,
  numberAt,
  objectAt,
  objectWithMethodsAt,
  onlyKeys,
  sectionAt,
} from '../config/rules.js';
import { MAX_MAX_SERIES_PER_FAMILY, MIN_MAX_SERIES_PER_FAMILY } from './metrics/series-cap.js';
import type { MetricsRegistry } from './types.js';

/** Telemetry options after validation. `undefined` fields mean "the default". */
export interface ResolvedTelemetry {
  readonly tracing: false | { readonly tracerProvider: TracerProvider | undefined };
  readonly metrics:
    | false
    | {
        readonly registry: MetricsRegistry | undefined;
        readonly maxSeriesPerFamily: number | undefined;
      };
}

/** What a prom-client Registry has that the SDK uses to register and find its families. */
export const REGISTRY_METHODS = ['getSingleMetric', 'getMetricsAsArray', 'registerMetric'];
export const REGISTRY_RULE = 'a prom-client Registry';

/**
 * Validate a client's `telemetry` options like the rest of `createClient`'s: unknown keys,
 * wrong types and out-of-range values throw `InvalidConfigurationError` naming the field
 * (`telemetry.tracing.tracerProvider`, ...). `false` turns a signal off, an absent value
 * is the default, and `null` is neither (it fails).
 */
export function resolveTelemetry(input: unknown): ResolvedTelemetry {
  const bag: Bag = input === undefined ? {} : objectAt(input, 'telemetry');
  onlyKeys(bag, ['tracing', 'metrics'], 'telemetry');

  const tracingBag = sectionAt(bag, 'tracing', 'telemetry.tracing');
  let tracing: ResolvedTelemetry['tracing'] = false;
  if (tracingBag) {
    onlyKeys(tracingBag, ['tracerProvider'], 'telemetry.tracing');
    tracing = {
      tracerProvider: objectWithMethodsAt<TracerProvider>(
        tracingBag,
        'tracerProvider',
        'telemetry.tracing.tracerProvider',
        ['getTracer'],
        'an OpenTelemetry TracerProvider',
      ),
    };
  }

  const metricsBag = sectionAt(bag, 'metrics', 'telemetry.metrics');
  let metrics: ResolvedTelemetry['metrics'] = false;
  if (metricsBag) {
    onlyKeys(metricsBag, ['registry', 'maxSeriesPerFamily'], 'telemetry.metrics');
    const registry = objectWithMethodsAt<MetricsRegistry>(
      metricsBag,
      'registry',
      'telemetry.metrics.registry',
      REGISTRY_METHODS,
      REGISTRY_RULE,
    );
    const maxSeriesPerFamily =
      metricsBag.maxSeriesPerFamily === undefined
        ? undefined
        : numberAt(metricsBag, 'maxSeriesPerFamily', 'telemetry.metrics.maxSeriesPerFamily', 0, {
            integer: true,
            min: MIN_MAX_SERIES_PER_FAMILY,
            max: MAX_MAX_SERIES_PER_FAMILY,
          });
    metrics = { registry, maxSeriesPerFamily };
  }
  return { tracing, metrics };
}

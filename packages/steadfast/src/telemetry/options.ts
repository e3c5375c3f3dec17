import type { TracerProvider } from '@opentelemetry/api';
import {
  numberOption,
  objectWithMethods,
  optionsObject,
  parseOptions,
  section,
} from '../config/schema.js';
import { MAX_MAX_SERIES_PER_FAMILY, MIN_MAX_SERIES_PER_FAMILY } from './metrics/series-cap.js';
import type { MetricsRegistry } from './types.js';

/** What a prom-client Registry has that the SDK uses to register and find its families. */
export const REGISTRY_METHODS = ['getSingleMetric', 'getMetricsAsArray', 'registerMetric'];
export const REGISTRY_RULE = 'a prom-client Registry';

export const tracingSchema = optionsObject('TracingOptions', 'Tracing of a client.', {
  tracerProvider: objectWithMethods<TracerProvider>(['getTracer'], {
    type: 'TracerProvider',
    what: 'an OpenTelemetry TracerProvider',
    doc: 'Where the spans go.',
    defaultText: 'the global TracerProvider',
  }),
});

export const metricsSchema = optionsObject('MetricsOptions', 'Metrics of a client.', {
  registry: objectWithMethods<MetricsRegistry>(REGISTRY_METHODS, {
    type: 'MetricsRegistry',
    what: REGISTRY_RULE,
    doc: 'The prom-client registry the families are registered on.',
    defaultText: "the SDK's default registry",
  }),
  maxSeriesPerFamily: numberOption({
    integer: true,
    min: MIN_MAX_SERIES_PER_FAMILY,
    max: MAX_MAX_SERIES_PER_FAMILY,
    doc: 'Most label combinations one metric family keeps.',
    defaultText: "the registry's cap",
  }),
});

/** A client's `telemetry` options: `false` turns a signal off, absent is the default. */
export const telemetrySchema = optionsObject('TelemetryOptions', 'Metrics and tracing.', {
  tracing: section(tracingSchema, true),
  metrics: section(metricsSchema, true),
});

/** Telemetry options after validation. `undefined` fields mean "the default". */
export interface ResolvedTelemetry {
  readonly tracing: false | { readonly tracerProvider?: TracerProvider | undefined };
  readonly metrics:
    | false
    | {
        readonly registry?: MetricsRegistry | undefined;
        readonly maxSeriesPerFamily?: number | undefined;
      };
}

/**
 * Validate a client's `telemetry` options like the rest of `createClient`'s: unknown keys,
 * wrong types and out-of-range values throw `InvalidConfigurationError` naming the field
 * (`telemetry.tracing.tracerProvider`, ...). `false` turns a signal off, an absent value
 * is the default, and `null` is neither (it fails).
 */
export function resolveTelemetry(input: unknown): ResolvedTelemetry {
  return parseOptions(telemetrySchema, input === undefined ? {} : input, 'telemetry');
}

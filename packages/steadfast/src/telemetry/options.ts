import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import {
  numberOption,
  objectWithMethods,
  optInSection,
  optionsObject,
  parseOptions,
  section,
} from '../config/schema.js';
import {
  DEFAULT_MAX_SERIES_PER_FAMILY,
  MAX_MAX_SERIES_PER_FAMILY,
  MIN_MAX_SERIES_PER_FAMILY,
} from './metrics/series-cap.js';
import type { MetricsRegistry } from './types.js';

/** What a prom-client Registry has that the SDK uses to register and find its families. */
const REGISTRY_METHODS = ['getSingleMetric', 'getMetricsAsArray', 'registerMetric'];
const REGISTRY_RULE = 'a prom-client Registry';

/** A `registry` option: a prom-client Registry (duck-typed, so another copy of prom-client passes). */
export function registryOption(doc: string, defaultText: string) {
  return objectWithMethods<MetricsRegistry>(REGISTRY_METHODS, {
    type: 'MetricsRegistry',
    what: REGISTRY_RULE,
    doc,
    defaultText,
  });
}

export const tracingSchema = optionsObject(
  'TracingOptions',
  'Tracing options of a client (`telemetry.tracing`).',
  {
    tracerProvider: objectWithMethods<TracerProvider>(['getTracer'], {
      type: 'TracerProvider',
      what: 'an OpenTelemetry TracerProvider',
      doc: 'Where spans go. With no provider registered the OpenTelemetry API is a no-op and tracing costs a few hundred nanoseconds per call.',
      defaultText:
        'the global provider (`trace.getTracerProvider()`), i.e. what the app registered (`startTelemetry()` of `@steadfast/telemetry-node`, or its own NodeSDK)',
    }),
  },
);

export const metricsSchema = optionsObject(
  'MetricsOptions',
  'Metrics options of a client (`telemetry.metrics`).',
  {
    registry: registryOption(
      "The prom-client registry the SDK's families are registered in (once per registry, however many clients share it). Exemplars (`trace_id`, `span_id`) are recorded only on an OpenMetrics registry.",
      '{@link metricsRegistry}, an OpenMetrics registry the SDK creates',
    ),
    maxSeriesPerFamily: numberOption({
      integer: true,
      min: MIN_MAX_SERIES_PER_FAMILY,
      max: MAX_MAX_SERIES_PER_FAMILY,
      doc: `The most series one family may hold in the registry, counted as a scrape sees them: a counter or gauge label set is 1 series, a histogram label set is one per bucket plus \`+Inf\`, \`_sum\` and \`_count\`. Past it, new label sets are recorded in one overflow series whose labels are all \`_OTHER\`. A whole number in [${MIN_MAX_SERIES_PER_FAMILY}, ${MAX_MAX_SERIES_PER_FAMILY}]. Set by the first client of a registry; another client of that registry may repeat it but not change it.`,
      // Applied where the registry's cap is set (metrics/series-cap.ts), not here: a client
      // that does not name it must not override the cap an earlier client set.
      defaultText: `\`${DEFAULT_MAX_SERIES_PER_FAMILY}\` (OpenTelemetry's default cardinality limit), or the cap an earlier client set on the registry`,
    }),
  },
);

export const otelMetricsSchema = optionsObject(
  'OtelMetricsOptions',
  "OpenTelemetry metrics options of a client (`telemetry.otelMetrics`): the contract's metrics as OpenTelemetry instruments (`http.client.request.duration`, `steadfast.calls`, ...), recorded through `@opentelemetry/api` into the app's MeterProvider, which decides the exporter (OTLP, Prometheus, ...).",
  {
    meterProvider: objectWithMethods<MeterProvider>(['getMeter'], {
      type: 'MeterProvider',
      what: 'an OpenTelemetry MeterProvider',
      doc: "Where the instruments are created (once per meter, however many clients share it). The OpenTelemetry API has no proxy meter provider: a client created before the app registers its global provider records into the no-op meter, so create clients after `startTelemetry()` or the app's NodeSDK, or pass the provider here.",
      defaultText:
        'the global provider (`metrics.getMeterProvider()`), i.e. what the app registered when the client was created',
    }),
  },
);

/** A client's `telemetry` options: `false` turns a signal off, absent is the default. */
export const telemetrySchema = optionsObject(
  'TelemetryOptions',
  'Telemetry options of a client (`createClient({ telemetry })`): spans per call and per attempt, prom-client metric families, and the same metrics as OpenTelemetry instruments. Tracing and prom-client metrics are on by default (`false` turns one off); OpenTelemetry metrics are off unless `otelMetrics` is `true` or an object.',
  {
    tracing: section(tracingSchema, true),
    metrics: section(metricsSchema, true),
    otelMetrics: optInSection(otelMetricsSchema),
  },
);

/** Telemetry options after validation. `undefined` fields mean "the default". */
export interface ResolvedTelemetry {
  readonly tracing: false | { readonly tracerProvider?: TracerProvider | undefined };
  readonly metrics:
    | false
    | {
        readonly registry?: MetricsRegistry | undefined;
        readonly maxSeriesPerFamily?: number | undefined;
      };
  readonly otelMetrics: false | { readonly meterProvider?: MeterProvider | undefined };
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

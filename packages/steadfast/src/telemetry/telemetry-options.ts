// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (telemetry-options.ts)

import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { MetricsRegistry } from './types.js';

/** Tracing options of a client (`telemetry.tracing`). */
export interface TracingOptions {
  /**
   * Where spans go. With no provider registered the OpenTelemetry API is a no-op and tracing costs
   * a few hundred nanoseconds per call.
   *
   * @defaultValue the global provider (`trace.getTracerProvider()`), i.e. what the app registered (`startTelemetry()` of `@steadfast/telemetry-node`, or its own NodeSDK)
   */
  readonly tracerProvider?: TracerProvider;
}

/** Metrics options of a client (`telemetry.metrics`). */
export interface MetricsOptions {
  /**
   * The prom-client registry the SDK's families are registered in (once per registry, however many
   * clients share it). Exemplars (`trace_id`, `span_id`) are recorded only on an OpenMetrics
   * registry.
   *
   * @defaultValue {@link metricsRegistry}, an OpenMetrics registry the SDK creates
   */
  readonly registry?: MetricsRegistry;
  /**
   * The most series one family may hold in the registry, counted as a scrape sees them: a counter
   * or gauge label set is 1 series, a histogram label set is one per bucket plus `+Inf`, `_sum`
   * and `_count`. Past it, new label sets are recorded in one overflow series whose labels are all
   * `_OTHER`. A whole number in [100, 10000000]. Set by the first client of a registry; another
   * client of that registry may repeat it but not change it.
   *
   * @defaultValue `2000` (OpenTelemetry's default cardinality limit), or the cap an earlier client set on the registry
   */
  readonly maxSeriesPerFamily?: number;
}

/**
 * OpenTelemetry metrics options of a client (`telemetry.otelMetrics`): the contract's metrics as
 * OpenTelemetry instruments (`http.client.request.duration`, `steadfast.calls`, ...), recorded
 * through `@opentelemetry/api` into the app's MeterProvider, which decides the exporter (OTLP,
 * Prometheus, ...).
 */
export interface OtelMetricsOptions {
  /**
   * Where the instruments are created (once per meter, however many clients share it). The
   * OpenTelemetry API has no proxy meter provider: a client created before the app registers its
   * global provider records into the no-op meter, so create clients after `startTelemetry()` or
   * the app's NodeSDK, or pass the provider here.
   *
   * @defaultValue the global provider (`metrics.getMeterProvider()`), i.e. what the app registered when the client was created
   */
  readonly meterProvider?: MeterProvider;
}

/**
 * Telemetry options of a client (`createClient({ telemetry })`): spans per call and per attempt,
 * prom-client metric families, and the same metrics as OpenTelemetry instruments. Tracing and
 * prom-client metrics are on by default (`false` turns one off); OpenTelemetry metrics are off
 * unless `otelMetrics` is `true` or an object.
 */
export interface TelemetryOptions {
  /**
   * Tracing options of a client (`telemetry.tracing`). `false` turns it off.
   *
   * @defaultValue on, with the defaults of {@link TracingOptions}
   */
  readonly tracing?: TracingOptions | false;
  /**
   * Metrics options of a client (`telemetry.metrics`). `false` turns it off.
   *
   * @defaultValue on, with the defaults of {@link MetricsOptions}
   */
  readonly metrics?: MetricsOptions | false;
  /**
   * OpenTelemetry metrics options of a client (`telemetry.otelMetrics`): the contract's metrics as
   * OpenTelemetry instruments (`http.client.request.duration`, `steadfast.calls`, ...), recorded
   * through `@opentelemetry/api` into the app's MeterProvider, which decides the exporter (OTLP,
   * Prometheus, ...). `true` or an object turns it on, `false` keeps it off.
   *
   * @defaultValue off
   */
  readonly otelMetrics?: OtelMetricsOptions | boolean;
}

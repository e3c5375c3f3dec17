import type { TracerProvider } from '@opentelemetry/api';
import type { Registry, RegistryContentType } from 'prom-client';

/** A prom-client registry of either exposition type. */
export type MetricsRegistry = Registry<RegistryContentType>;

/** Tracing options of a client (`telemetry.tracing`). */
export interface TracingOptions {
  /**
   * Where spans go. Default: the global provider (`trace.getTracerProvider()`), i.e. what the
   * app registered (`startTelemetry()` or its own NodeSDK). With no provider registered the
   * OpenTelemetry API is a no-op and tracing costs a few hundred nanoseconds per call.
   */
  readonly tracerProvider?: TracerProvider;
}

/** Metrics options of a client (`telemetry.metrics`). */
export interface MetricsOptions {
  /**
   * The prom-client registry the SDK's families are registered in (once per registry, however
   * many clients share it). Default: {@link metricsRegistry}, an OpenMetrics registry the SDK
   * creates. Exemplars (`trace_id`, `span_id`) are recorded only on an OpenMetrics registry.
   */
  readonly registry?: MetricsRegistry;
  /**
   * The most series one family may hold in the registry, counted as a scrape sees them: a
   * counter or gauge label set is 1 series, a histogram label set is one per bucket plus
   * `+Inf`, `_sum` and `_count` (17 for `http_client_request_duration_seconds`, 20 for
   * `steadfast_call_duration_seconds`). Past it, new label sets are recorded in one overflow
   * series whose labels are all `_OTHER`. A whole number in [100, 10,000,000]. Default
   * 2,000 (OpenTelemetry's default cardinality limit). Set by the first client of a registry;
   * another client of that registry may repeat it but not change it.
   */
  readonly maxSeriesPerFamily?: number;
}

/**
 * Telemetry options of a client (`createClient({ telemetry })`). Both signals are on by
 * default; `false` turns one off.
 *
 * @example
 * createClient({ name: 'weather', baseUrl, telemetry: { metrics: { registry: myRegistry } } });
 */
export interface TelemetryOptions {
  /** Spans per call and per attempt. Default: on, global tracer provider. `false`: off. */
  readonly tracing?: false | TracingOptions;
  /** prom-client families. Default: on, {@link metricsRegistry}. `false`: off. */
  readonly metrics?: false | MetricsOptions;
}

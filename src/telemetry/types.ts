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

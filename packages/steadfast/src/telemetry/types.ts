import type { Registry, RegistryContentType } from 'prom-client';

/** A prom-client registry of either exposition type. */
export type MetricsRegistry = Registry<RegistryContentType>;

export type {
  MetricsOptions,
  OtelMetricsOptions,
  TelemetryOptions,
  TracingOptions,
} from './telemetry-options.js';

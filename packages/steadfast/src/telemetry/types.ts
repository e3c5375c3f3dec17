import type { Registry, RegistryContentType } from 'prom-client';

/** A prom-client registry of either exposition type. */
export type MetricsRegistry = Registry<RegistryContentType>;

export type { MetricsOptions, TelemetryOptions, TracingOptions } from './telemetry-options.js';

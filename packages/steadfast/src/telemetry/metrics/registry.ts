import { Registry, type RegistryContentType } from 'prom-client';
import type { MetricsRegistry } from '../types.js';

/**
 * The registry the SDK uses when the app passes none: OpenMetrics, so the duration
 * histograms carry `trace_id`/`span_id` exemplars. Serve it with {@link metricsRouter}
 * (which also answers the text format), or register your own metrics in it.
 */
export const metricsRegistry: MetricsRegistry = createOpenMetricsRegistry();

/** A new, empty OpenMetrics registry (prom-client's typings only allow setting it afterwards). */
export function createOpenMetricsRegistry(): MetricsRegistry {
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

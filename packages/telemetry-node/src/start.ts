// The app-side OpenTelemetry bootstrap: the one file of Steadfast that touches the OTel
// SDK. It imports `@opentelemetry/sdk-node` lazily, so importing the library stays light.
import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { resolveStartOptions } from './start-options.js';
import type { StartTelemetryOptions } from './start-options-types.js';

export type { StartTelemetryOptions } from './start-options-types.js';

/** Flushes and stops the OpenTelemetry SDK. Idempotent: every call returns the same promise. */
export type ShutdownTelemetry = () => Promise<void>;

/**
 * Start the OpenTelemetry NodeSDK for an app (worker, demo) from the standard environment:
 * `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_ENDPOINT` /
 * `_PROTOCOL` / `_HEADERS` (traces go to OTLP by default), `OTEL_TRACES_SAMPLER[_ARG]`,
 * `OTEL_NODE_RESOURCE_DETECTORS`, `OTEL_PROPAGATORS`, `OTEL_SDK_DISABLED`, ...
 * Metrics and logs are not exported unless `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER`
 * ask for it: the SDK's metrics are prom-client families served on `/metrics`.
 *
 * On SIGTERM or SIGINT it flushes pending spans; when nothing else listens for the signal
 * it then re-raises it, so the process ends as it would have. If your app handles the
 * signal itself, `await shutdown()` in your handler before exiting.
 *
 * Options are validated before anything starts: an unknown key, a wrong type or a value out
 * of range rejects with `InvalidConfigurationError` naming the field.
 *
 * @example
 * const shutdown = await startTelemetry({ serviceName: 'worker' });
 * // ... on your own exit path:
 * await shutdown();
 */
export async function startTelemetry(options?: StartTelemetryOptions): Promise<ShutdownTelemetry> {
  const {
    serviceName,
    instrumentations,
    handleSignals,
    shutdownTimeoutMs: timeoutMs,
    sdk: sdkConfig,
  } = resolveStartOptions(options);
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const env = process.env;
  const config: Partial<NodeSDKConfiguration> = {};
  const envNamesService =
    Boolean(env.OTEL_SERVICE_NAME) ||
    /(^|,)\s*service\.name=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  if (serviceName !== undefined && !envNamesService) config.serviceName = serviceName;
  if (!env.OTEL_METRICS_EXPORTER) config.metricReaders = [];
  if (!env.OTEL_LOGS_EXPORTER) config.logRecordProcessors = [];
  if (instrumentations) config.instrumentations = instrumentations;
  const sdk = new NodeSDK({ ...config, ...sdkConfig });
  sdk.start();

  let stopping: Promise<void> | undefined;
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  const onSignal = (signal: NodeJS.Signals) => {
    shutdown().finally(() => {
      // Nobody else handles it: end the process the way the signal would have.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };
  const shutdown: ShutdownTelemetry = () => {
    if (!stopping) {
      for (const signal of signals) process.removeListener(signal, onSignal);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      stopping = Promise.race([sdk.shutdown().catch(() => {}), timeout]).finally(() =>
        clearTimeout(timer),
      );
    }
    return stopping;
  };
  if (handleSignals) {
    for (const signal of signals) process.once(signal, onSignal);
  }
  return shutdown;
}

import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import {
  booleanOption,
  customOption,
  MAX_TIMEOUT_MS,
  numberOption,
  optionsObject,
  parseOptions,
  plainObject,
  textOption,
} from 'steadfast/options';

/**
 * The options of `startTelemetry`, each declared once: type, default, range and prose.
 * start-options-types.ts (the documented `StartTelemetryOptions`) is generated from it.
 */
export const startTelemetryOptionsSchema = optionsObject(
  'StartTelemetryOptions',
  'Options of {@link startTelemetry}. Everything else comes from the `OTEL_*` variables.',
  {
    serviceName: textOption({
      maxLength: 255,
      doc: '`service.name` when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` sets one (the environment wins).',
      defaultText: "none (the SDK's `unknown_service:node`)",
    }),
    instrumentations: customOption<NodeSDKConfiguration['instrumentations']>(
      (value) =>
        Array.isArray(value) ? undefined : 'must be an array of OpenTelemetry instrumentations',
      {
        type: "NodeSDKConfiguration['instrumentations']",
        doc: 'Instrumentations to register, e.g. `new UndiciInstrumentation()`.',
      },
    ),
    handleSignals: booleanOption({
      default: true,
      doc: 'Flush and shut down on SIGTERM and SIGINT.',
    }),
    shutdownTimeoutMs: numberOption({
      default: 5_000, // 5 s
      min: 0,
      max: MAX_TIMEOUT_MS,
      doc: 'Longest wait for the final flush, in ms, in [0, 2^31 − 1].',
    }),
    sdk: plainObject<Partial<NodeSDKConfiguration>>({
      type: 'Partial<NodeSDKConfiguration>',
      doc: 'Further NodeSDK configuration; overrides what the environment would pick.',
    }),
  },
);

/** `startTelemetry`'s options, validated, with their defaults. */
export function resolveStartOptions(input: unknown) {
  const options = parseOptions(startTelemetryOptionsSchema, input === undefined ? {} : input);
  return { ...options, sdk: options.sdk ?? {} };
}

// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (start-options-types.ts)

import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';

/** Options of {@link startTelemetry}. Everything else comes from the `OTEL_*` variables. */
export interface StartTelemetryOptions {
  /**
   * `service.name` when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` sets one (the
   * environment wins).
   *
   * @defaultValue none (the SDK's `unknown_service:node`)
   */
  readonly serviceName?: string;
  /**
   * Instrumentations to register, e.g. `new UndiciInstrumentation()`.
   *
   * @defaultValue none
   */
  readonly instrumentations?: NodeSDKConfiguration['instrumentations'];
  /**
   * Flush and shut down on SIGTERM and SIGINT.
   *
   * @defaultValue `true`
   */
  readonly handleSignals?: boolean;
  /**
   * Longest wait for the final flush, in ms, in [0, 2^31 − 1].
   *
   * @defaultValue `5_000` (5 s)
   */
  readonly shutdownTimeoutMs?: number;
  /**
   * Further NodeSDK configuration; overrides what the environment would pick.
   *
   * @defaultValue none
   */
  readonly sdk?: Partial<NodeSDKConfiguration>;
}

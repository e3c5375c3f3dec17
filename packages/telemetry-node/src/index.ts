/**
 * `@steadfast/telemetry-node`: start the OpenTelemetry Node SDK for an app that has no
 * OpenTelemetry set-up of its own. Services that already start one never need this package:
 * the `steadfast` client uses whatever tracer provider is registered.
 */
export { type ShutdownTelemetry, type StartTelemetryOptions, startTelemetry } from './start.js';

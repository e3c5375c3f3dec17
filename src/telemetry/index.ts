// Placeholder until the telemetry adapters land (issue 4): the client composes whatever
// `createTelemetry` returns; with nothing returned the pipeline runs without telemetry.
import type { Authorization } from '../auth/types.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import type { Strategy } from '../pipeline/types.js';

/** Telemetry options of a client. */
export interface TelemetryOptions {
  readonly metrics?: false | Record<string, unknown>;
  readonly tracing?: false | Record<string, unknown>;
}

/** What the client needs to wire telemetry in. */
export interface TelemetryTarget {
  readonly client: string;
  readonly events: ClientEvents;
  readonly auth: Authorization | undefined;
  /** Origins (`scheme://host:port`) configured for this client: the allowed `server_address` values. */
  readonly origins: readonly string[];
}

export interface ClientTelemetry {
  /** Outermost layer: the logical-call span. */
  readonly callLayer: Strategy | undefined;
  /** Layer around each wire attempt: the CLIENT span, `traceparent` injection. */
  readonly attemptLayer: Strategy | undefined;
  dispose(): void;
}

export function createTelemetry(
  _options: TelemetryOptions | undefined,
  _target: TelemetryTarget,
): ClientTelemetry {
  return { callLayer: undefined, attemptLayer: undefined, dispose() {} };
}

import { type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import type { Authorization } from '../auth/types.js';
import { InvalidConfigurationError } from '../errors.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import type { Disposable } from '../pipeline/event.js';
import type { Strategy } from '../pipeline/types.js';
import type { AdmissionLayers } from './admission.js';
import { subscribeClientMetrics } from './metrics/client-metrics.js';
import { familiesFor } from './metrics/families.js';
import { metricsRegistry } from './metrics/registry.js';
import { subscribeTokenMetrics } from './metrics/token-metrics.js';
import { resolveTelemetry } from './options.js';
import { otelInstrumentsOf, subscribeOtelMetrics } from './otel-metrics/index.js';
import { acquireShared } from './shared.js';
import {
  type AdaptiveLimitBounds,
  markFallbackServed,
  markHedgeSent,
  type ThrottleProbe,
  type ToolboxLayers,
} from './toolbox.js';
import { AttemptSpanLayer } from './tracing/attempt-layer.js';
import { CallSpanLayer } from './tracing/call-layer.js';
import { tracingLiveness } from './tracing/liveness.js';
import { subscribeSpanEvents } from './tracing/span-events.js';
import { subscribeTokenSpans } from './tracing/token-spans.js';
import { subscribeToolboxSpanEvents } from './tracing/toolbox-span-events.js';
import type { TelemetryOptions } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export { ERROR_TYPES } from './attributes.js';
export {
  type ExpositionFormat,
  OPENMETRICS_CONTENT_TYPE,
  renderMetrics,
  TEXT_CONTENT_TYPE,
} from './metrics/exposition.js';
export {
  CALL_DURATION_BUCKETS,
  DURATION_BUCKETS,
  FAMILY_NAMES,
  QUOTA_LEASE_BUCKETS,
  RATE_LIMIT_WAIT_BUCKETS,
  STALE_AGE_BUCKETS,
} from './metrics/families.js';
export { createOpenMetricsRegistry, metricsRegistry } from './metrics/registry.js';
export { OTEL_INSTRUMENT_NAMES } from './otel-metrics/index.js';
export {
  type MetricsRequestHandler,
  type MetricsRouterOptions,
  metricsRouter,
} from './router.js';
export type {
  MetricsOptions,
  MetricsRegistry,
  OtelMetricsOptions,
  TelemetryOptions,
  TracingOptions,
} from './types.js';

/** What the client needs to wire telemetry in. */
export interface TelemetryTarget {
  readonly client: string;
  readonly events: ClientEvents;
  readonly auth: Authorization | undefined;
  /** Origins (`scheme://host:port`) configured for this client: the allowed `server_address` values. */
  readonly origins: readonly string[];
  /** The fleet quota's limit in permits per second (`limit` × 1000 ÷ `intervalMs`); `undefined` without a quota. */
  readonly quotaLimitPerSecond: number | undefined;
  /**
   * Whether the client has an in-process rate limiter; `false` leaves its events unsubscribed.
   * Absent counts as true: the listener costs nothing until a limiter emits.
   */
  readonly rateLimiter?: boolean;
  /** Whether the client has a server-driven cooldown; as `rateLimiter`. */
  readonly cooldown?: boolean;
  /**
   * Whether the client has client-side adaptive throttling (`adaptiveThrottle`). Absent
   * counts as false, as for the other toolbox strategies below: nothing is subscribed.
   */
  readonly adaptiveThrottle?: boolean;
  /**
   * Reads the adaptive throttle's rejection probability per origin (its `counts()`), for the
   * gauge read at collection; called only then, never per call.
   */
  readonly throttleProbe?: ThrottleProbe | undefined;
  /** Whether the client hedges (`hedging`). */
  readonly hedging?: boolean;
  /** Whether the client has a fallback (`fallback`). */
  readonly fallback?: boolean;
  /** The adaptive concurrency limit's bounds (`concurrency.adaptive`); absent: none. */
  readonly adaptiveConcurrency?: AdaptiveLimitBounds | undefined;
}

/** The telemetry of one client: two pipeline layers and the subscriptions behind them. */
export interface ClientTelemetry {
  /** Outermost layer: the logical-call span. */
  readonly callLayer: Strategy | undefined;
  /** Layer around each wire attempt: the CLIENT span, `traceparent` injection. */
  readonly attemptLayer: Strategy | undefined;
  /** Unsubscribe every listener (shared token subscriptions when the last client goes). */
  dispose(): void;
}

/** Scope of the once-per-token-manager span subscription. */
const TOKEN_SPANS_SCOPE = {};

/** The SDK's tracer from `provider`; a provider whose `getTracer` gives no tracer is a configuration error. */
function tracerOf(provider: TracerProvider): Tracer {
  let tracer: Partial<Tracer> | undefined;
  try {
    tracer = provider.getTracer(PACKAGE_NAME, PACKAGE_VERSION);
  } catch {
    tracer = undefined;
  }
  if (typeof tracer?.startSpan !== 'function') {
    throw new InvalidConfigurationError(
      'telemetry.tracing.tracerProvider',
      'must be an OpenTelemetry TracerProvider: its getTracer() gave no Tracer',
    );
  }
  return tracer as Tracer;
}

/**
 * Build a client's telemetry: tracing layers (`@opentelemetry/api` only) and prom-client
 * metrics subscribed to the client's events. Called once per client, at construction.
 * Validates `options` first (see `resolveTelemetry`), so a bad option throws
 * `InvalidConfigurationError` before anything is subscribed.
 */
export function createTelemetry(
  options: TelemetryOptions | undefined,
  target: TelemetryTarget,
): ClientTelemetry {
  const { tracing, metrics, otelMetrics } = resolveTelemetry(options);
  // Families are made (or found) before any subscription: a clash with the registry's
  // contents or its cap is a configuration error and must leave nothing subscribed.
  const registry = metrics ? (metrics.registry ?? metricsRegistry) : undefined;
  const families =
    metrics && registry ? familiesFor(registry, metrics.maxSeriesPerFamily) : undefined;
  const instruments = otelInstrumentsOf(otelMetrics);
  const admission: AdmissionLayers = {
    rateLimiter: target.rateLimiter !== false,
    quotaLimitPerSecond: target.quotaLimitPerSecond,
    cooldown: target.cooldown !== false,
    adaptiveThrottle: target.adaptiveThrottle === true,
  };
  const toolbox: ToolboxLayers = {
    hedging: target.hedging === true,
    fallback: target.fallback === true,
    adaptiveConcurrency: target.adaptiveConcurrency,
    throttleProbe: target.adaptiveThrottle === true ? target.throttleProbe : undefined,
  };

  const subscriptions: Disposable[] = [];
  let callLayer: Strategy | undefined;
  let attemptLayer: Strategy | undefined;

  /** Whether a call may carry a span (undefined: tracing off). */
  let live: (() => boolean) | undefined;
  if (tracing) {
    const provider = tracing.tracerProvider ?? trace.getTracerProvider();
    const tracer = tracerOf(provider);
    live = tracingLiveness(provider);
    callLayer = new CallSpanLayer(tracer, live, toolbox.fallback);
    attemptLayer = new AttemptSpanLayer(tracer, live);
    subscriptions.push(
      ...subscribeSpanEvents(target.events, admission),
      ...subscribeToolboxSpanEvents(target.events, toolbox),
    );
    const tokenEvents = target.auth?.tokenEvents;
    if (tokenEvents) {
      subscriptions.push(
        acquireShared(TOKEN_SPANS_SCOPE, tokenEvents, () =>
          subscribeTokenSpans(tokenEvents, tracer),
        ),
      );
    }
  }

  if (families && registry) {
    subscriptions.push(
      ...subscribeClientMetrics(
        target.events,
        families,
        target.client,
        target.origins,
        live,
        admission,
        toolbox,
      ),
    );
    const tokenEvents = target.auth?.tokenEvents;
    if (tokenEvents) {
      subscriptions.push(
        acquireShared(registry, tokenEvents, () => subscribeTokenMetrics(tokenEvents, families)),
      );
    }
  }

  if (instruments) {
    subscriptions.push(
      ...subscribeOtelMetrics(
        instruments,
        target.events,
        target.client,
        target.origins,
        target.auth?.tokenEvents,
        admission,
        toolbox,
      ),
    );
  }

  // A call a fallback answered is told apart at its end (its span's outcome, its `kind`):
  // one marker per client, whatever adapters are on.
  if (toolbox.fallback && (tracing || families || instruments)) {
    subscriptions.push(target.events.fallback.event(markFallbackServed));
  }
  // A hedged call is no call "with retry" for its hedges: count them on the call.
  if (toolbox.hedging && (families || instruments)) {
    subscriptions.push(target.events.hedge.event(markHedgeSent));
  }

  let disposed = false;
  return {
    callLayer,
    attemptLayer,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const s of subscriptions) s.dispose();
    },
  };
}

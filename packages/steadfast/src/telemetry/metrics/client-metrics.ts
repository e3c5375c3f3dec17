import { isSpanContextValid, type Span, TraceFlags } from '@opentelemetry/api';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { Disposable } from '../../pipeline/event.js';
import type { BreakerState, Severity } from '../../pipeline/events.js';
import type { AdmissionLayers } from '../admission.js';
import {
  boundErrorType,
  boundStatusCode,
  callResultOf,
  normalizeMethod,
  OTHER,
  serverOf,
} from '../attributes.js';
import {
  BREAKER_TRANSITIONS,
  callKindOf,
  type EventStrategy,
  subscribeAdmissionEvents,
  subscribeResilienceEvents,
  subscribeToolboxEvents,
} from '../resilience-events.js';
import { attemptsBesidesHedges, fallbackServedOf, type ToolboxLayers } from '../toolbox.js';
import { attemptSpanOf, callSpanOf } from '../tracing/keys.js';
import { subscribeAdmissionMetrics } from './admission-metrics.js';
import {
  bindCounter,
  bindHistogram,
  type CounterSeries,
  exemplarsOn,
  type HistogramSeries,
} from './bound-series.js';
import type { Families, LimiterView } from './families.js';
import { LabelCache, type Labels } from './series-cap.js';
import { subscribeToolboxMetrics } from './toolbox-metrics.js';

/** The `server_address`/`server_port` labels of one origin. */
interface OriginLabels {
  readonly server_address: string;
  readonly server_port: string;
}

const OTHER_ORIGIN: OriginLabels = { server_address: OTHER, server_port: OTHER };

/** Exemplar labels of a sampled span (`trace_id`, `span_id`), or none. */
function exemplarOf(span: Span | undefined): Record<string, string> | undefined {
  if (!span) return undefined;
  const sc = span.spanContext();
  if (!isSpanContextValid(sc) || (sc.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

/**
 * The metrics adapter of one client: subscribes to its pipeline events and records the
 * contract's families. Labels are bounded by construction: `server_address` only from the
 * client's configured origins (else `_OTHER`), `error_type` and status codes from closed
 * vocabularies. Each family's series are capped on top (see `series-cap.ts`); every
 * recording site keeps the series bound to the label set it was admitted (see
 * `bound-series.ts`), looked up by its bounded keys, so an observation builds no label
 * object and no key, and costs a few field writes.
 */
export function subscribeClientMetrics(
  events: ClientEvents,
  families: Families,
  client: string,
  origins: readonly string[],
  /** Whether a call may carry a sampled span (tracing on, a provider registered): exemplars. */
  tracingLive: (() => boolean) | undefined,
  admission: AdmissionLayers,
  toolbox: ToolboxLayers,
): Disposable[] {
  const originLabels = new Map<string, OriginLabels>();
  for (const origin of origins) {
    try {
      const url = new URL(origin);
      const { address, port } = serverOf(url);
      const labels = { server_address: address, server_port: String(port) };
      originLabels.set(url.origin, labels);
      originLabels.set(`${url.protocol}//${url.host}:${port}`, labels);
    } catch {
      // not a URL: nothing can match it
    }
  }
  const labelsOf = (origin: string): OriginLabels => originLabels.get(origin) ?? OTHER_ORIGIN;
  const addressOf = (origin: string): string => labelsOf(origin).server_address;

  const attemptExemplars = tracingLive && exemplarsOn(families.attemptDuration);
  const callExemplars = tracingLive && exemplarsOn(families.callDuration);

  const { caps } = families;
  const histogram =
    (family: Families['attemptDuration'] | Families['callDuration']) =>
    (labels: Labels): HistogramSeries =>
      bindHistogram(family, labels);
  const counter =
    (family: Families['calls']) =>
    (labels: Labels): CounterSeries =>
      bindCounter(family, labels);
  const same = (labels: Labels): Labels => labels;
  const attemptSeries = new LabelCache(caps.attemptDuration, histogram(families.attemptDuration));
  const callsSeries = new LabelCache(caps.calls, counter(families.calls));
  const callDurationSeries = new LabelCache(caps.callDuration, histogram(families.callDuration));
  const retriesSeries = new LabelCache(caps.retries, counter(families.retries));
  const retryDelaySeries = new LabelCache(caps.retryDelay, counter(families.retryDelay));
  const eventSeries = new LabelCache(caps.events, counter(families.events));
  const stateLabels = new LabelCache(caps.breakerState, same);
  const transitionSeries = new LabelCache(
    caps.breakerTransitions,
    counter(families.breakerTransitions),
  );
  const notPermittedSeries = new LabelCache(
    caps.breakerNotPermitted,
    counter(families.breakerNotPermitted),
  );

  const event = (strategy: EventStrategy, name: string, severity: Severity) =>
    (
      eventSeries.get(strategy, name, severity) ??
      eventSeries.admit({ client, strategy, event: name, severity }, strategy, name, severity)
    ).inc();
  const stateOf = (server_address: string, state: BreakerState): Labels =>
    stateLabels.get(server_address, state) ??
    stateLabels.admit({ client, server_address, state }, server_address, state);
  const transitionOf = (
    server_address: string,
    from_state: string,
    to_state: string,
  ): CounterSeries =>
    transitionSeries.get(server_address, from_state, to_state) ??
    transitionSeries.admit(
      { client, server_address, from_state, to_state },
      server_address,
      from_state,
      to_state,
    );

  const { fallback, hedging } = toolbox;
  const views = families.limiterViews;
  let limiter: LimiterView | undefined;
  let inflightLabels: Labels | undefined;
  let limitLabels: Labels | undefined;

  // Every origin starts closed, so "open breakers" panels read 0 rather than no data, and
  // every transition series exists at 0 before the first transition: a counter series born
  // at 1 shows no increase(), and the flapping alert would miss the first cycle.
  for (const { server_address } of new Set(originLabels.values())) {
    families.breakerState.set(stateOf(server_address, 'closed'), 1);
    families.breakerState.set(stateOf(server_address, 'open'), 0);
    families.breakerState.set(stateOf(server_address, 'half_open'), 0);
    for (const [from_state, to_state] of BREAKER_TRANSITIONS) {
      transitionOf(server_address, from_state, to_state).inc(0);
    }
  }

  return [
    events.attemptEnd.event((e) => {
      const { ctx, outcome } = e;
      const method = normalizeMethod(ctx.method);
      const origin = labelsOf(ctx.origin);
      // The raw status is a bounded key (three digits) and costs no string per attempt.
      const status = outcome.kind === 'response' ? outcome.response.status : undefined;
      const errorType = boundErrorType(e.errorType);
      const series =
        attemptSeries.get(method, origin, status, errorType) ??
        attemptSeries.admit(
          attemptLabelsOf(client, method, origin, status, errorType),
          method,
          origin,
          status,
          errorType,
        );
      series.observe(
        e.durationMs / 1000,
        attemptExemplars && tracingLive() ? exemplarOf(attemptSpanOf(ctx)) : undefined,
      );
    }),
    events.callEnd.event((e) => {
      const { ctx, outcome } = e;
      const result = callResultOf(ctx, outcome);
      // A caller abort is not an outcome of the downstream: neither success nor failure.
      if (result === 'aborted') return;
      const kind =
        fallback && fallbackServedOf(ctx) !== undefined
          ? 'fallback'
          : callKindOf(result, hedging ? attemptsBesidesHedges(ctx) : ctx.attempts);
      (callsSeries.get(kind) ?? callsSeries.admit({ client, kind }, kind)).inc();
      (
        callDurationSeries.get(result) ??
        callDurationSeries.admit({ client, outcome: result }, result)
      ).observe(
        e.durationMs / 1000,
        callExemplars && tracingLive() ? exemplarOf(callSpanOf(ctx)) : undefined,
      );
    }),
    events.retry.event((e) => {
      const reason = boundErrorType(e.reason) ?? OTHER;
      (retriesSeries.get(reason) ?? retriesSeries.admit({ client, reason }, reason)).inc();
      const source = e.delaySource;
      (retryDelaySeries.get(source) ?? retryDelaySeries.admit({ client, source }, source)).inc(
        e.delayMs / 1000,
      );
    }),
    events.breakerTransition.event((e) => {
      const server_address = addressOf(e.origin);
      for (const state of ['closed', 'open', 'half_open'] as const) {
        families.breakerState.set(stateOf(server_address, state), state === e.to ? 1 : 0);
      }
      transitionOf(server_address, e.from, e.to).inc();
    }),
    events.breakerRejected.event((e) => {
      const server_address = addressOf(e.ctx.origin);
      (
        notPermittedSeries.get(server_address) ??
        notPermittedSeries.admit({ client, server_address }, server_address)
      ).inc();
    }),
    events.limiter.event((e) => {
      inflightLabels ??= families.caps.inflight.admit({ client });
      limitLabels ??= families.caps.limit.admit({ client });
      if (views) {
        if (!limiter) {
          limiter = { inflightLabels, limitLabels, inflight: 0, limit: 0 };
          views.add(limiter);
        }
        limiter.inflight = e.clientInflight ?? e.inflight;
        limiter.limit = e.clientLimit ?? e.limit;
      } else {
        families.inflight.set(inflightLabels, e.clientInflight ?? e.inflight);
        families.limit.set(limitLabels, e.clientLimit ?? e.limit);
      }
    }),
    { dispose: () => limiter && views?.delete(limiter) },
    events.reauthorize.event((e) => {
      if (e.resent) {
        const reason = e.dpopNonce ? 'use_dpop_nonce' : '401';
        (retriesSeries.get(reason) ?? retriesSeries.admit({ client, reason }, reason)).inc();
      }
    }),
    ...subscribeResilienceEvents(events, event),
    ...subscribeAdmissionEvents(events, admission, event),
    ...subscribeAdmissionMetrics(events, families, client, admission),
    ...subscribeToolboxEvents(events, toolbox, event),
    ...subscribeToolboxMetrics(
      events,
      families,
      client,
      addressOf,
      [...new Set([...originLabels.values()].map((l) => l.server_address))],
      toolbox,
    ),
  ];
}

/** The attempt histogram's labels; absent labels stay absent (not `""`). */
function attemptLabelsOf(
  client: string,
  method: string,
  origin: OriginLabels,
  status: number | undefined,
  errorType: string | undefined,
): Labels {
  const labels: Record<string, string> = {
    client,
    http_request_method: method,
    server_address: origin.server_address,
    server_port: origin.server_port,
  };
  if (status !== undefined) labels.http_response_status_code = boundStatusCode(status);
  if (errorType !== undefined) labels.error_type = errorType;
  return labels;
}

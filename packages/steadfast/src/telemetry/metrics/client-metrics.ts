import { isSpanContextValid, type Span, TraceFlags } from '@opentelemetry/api';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { Disposable } from '../../pipeline/event.js';
import type { BreakerState, Severity } from '../../pipeline/events.js';
import {
  boundErrorType,
  boundStatusCode,
  callErrorTypeOf,
  callResultOf,
  normalizeMethod,
  OTHER,
  serverOf,
} from '../attributes.js';
import { attemptSpanOf, callSpanOf } from '../tracing/keys.js';
import { type Families, type LimiterView, recordsExemplars } from './families.js';
import { LabelCache, type Labels } from './series-cap.js';

/** `steadfast_events_total{strategy}` values. */
type StrategyLabel =
  | 'retry'
  | 'timeout'
  | 'circuit_breaker'
  | 'concurrency_limiter'
  | 'reauthorize'
  | 'chaos';

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

/** The transitions a breaker makes: closed → open → half_open → closed, or back to open. */
const BREAKER_TRANSITIONS = [
  ['closed', 'open'],
  ['open', 'half_open'],
  ['half_open', 'closed'],
  ['half_open', 'open'],
] as const;

/**
 * The metrics adapter of one client: subscribes to its pipeline events and records the
 * contract's families. Labels are bounded by construction: `server_address` only from the
 * client's configured origins (else `_OTHER`), `error_type` and status codes from closed
 * vocabularies. Each family's series are capped on top (see `series-cap.ts`); every
 * recording site keeps the label objects it was admitted, looked up by its bounded keys, so
 * an observation builds no label object and no key.
 */
export function subscribeClientMetrics(
  events: ClientEvents,
  families: Families,
  client: string,
  origins: readonly string[],
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

  const attemptExemplars = recordsExemplars(families.attemptDuration);
  const callExemplars = recordsExemplars(families.callDuration);

  const { caps } = families;
  const attemptLabels = new LabelCache(caps.attemptDuration);
  const callsLabels = new LabelCache(caps.calls);
  const callDurationLabels = new LabelCache(caps.callDuration);
  const retriesLabels = new LabelCache(caps.retries);
  const retryDelayLabels = new LabelCache(caps.retryDelay);
  const eventLabels = new LabelCache(caps.events);
  const stateLabels = new LabelCache(caps.breakerState);
  const transitionLabels = new LabelCache(caps.breakerTransitions);
  const notPermittedLabels = new LabelCache(caps.breakerNotPermitted);

  const event = (strategy: StrategyLabel, name: string, severity: Severity) =>
    families.events.inc(
      eventLabels.get(strategy, name, severity) ??
        eventLabels.admit({ client, strategy, event: name, severity }, strategy, name, severity),
    );
  const stateOf = (server_address: string, state: BreakerState): Labels =>
    stateLabels.get(server_address, state) ??
    stateLabels.admit({ client, server_address, state }, server_address, state);
  const transitionOf = (server_address: string, from_state: string, to_state: string): Labels =>
    transitionLabels.get(server_address, from_state, to_state) ??
    transitionLabels.admit(
      { client, server_address, from_state, to_state },
      server_address,
      from_state,
      to_state,
    );

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
      families.breakerTransitions.inc(transitionOf(server_address, from_state, to_state), 0);
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
      const labels =
        attemptLabels.get(method, origin, status, errorType) ??
        attemptLabels.admit(
          attemptLabelsOf(client, method, origin, status, errorType),
          method,
          origin,
          status,
          errorType,
        );
      const seconds = e.durationMs / 1000;
      if (attemptExemplars) {
        const exemplarLabels = exemplarOf(attemptSpanOf(ctx));
        families.attemptDuration.observe(
          exemplarLabels ? { labels, value: seconds, exemplarLabels } : { labels, value: seconds },
        );
      } else {
        families.attemptDuration.observe(labels, seconds);
      }
    }),
    events.callEnd.event((e) => {
      const { ctx, outcome } = e;
      const result = callResultOf(ctx, outcome);
      // A caller abort is not an outcome of the downstream: neither success nor failure.
      if (result === 'aborted') return;
      const retried = ctx.attempts > 1;
      const kind =
        result === 'rejected'
          ? 'not_permitted'
          : result === 'success'
            ? retried
              ? 'successful_with_retry'
              : 'successful_without_retry'
            : retried
              ? 'failed_with_retry'
              : 'failed_without_retry';
      families.calls.inc(callsLabels.get(kind) ?? callsLabels.admit({ client, kind }, kind));
      const labels =
        callDurationLabels.get(result) ??
        callDurationLabels.admit({ client, outcome: result }, result);
      const seconds = e.durationMs / 1000;
      if (callExemplars) {
        const exemplarLabels = exemplarOf(callSpanOf(ctx));
        families.callDuration.observe(
          exemplarLabels ? { labels, value: seconds, exemplarLabels } : { labels, value: seconds },
        );
      } else {
        families.callDuration.observe(labels, seconds);
      }
      if (callErrorTypeOf(ctx, outcome) === 'retry_budget_exhausted') {
        event('retry', 'budget_exhausted', 'error');
      }
    }),
    events.retry.event((e) => {
      const reason = boundErrorType(e.reason) ?? OTHER;
      families.retries.inc(
        retriesLabels.get(reason) ?? retriesLabels.admit({ client, reason }, reason),
      );
      const source = e.delaySource;
      families.retryDelay.inc(
        retryDelayLabels.get(source) ?? retryDelayLabels.admit({ client, source }, source),
        e.delayMs / 1000,
      );
      event('retry', 'retry', 'warning');
    }),
    events.retryGiveUp.event((e) => {
      if (e.reason === 'budget_exhausted') return; // counted once, at callEnd
      event('retry', 'give_up', e.reason === 'not_transient' ? 'information' : 'warning');
    }),
    events.timeout.event((e) => {
      const name = e.poolExhausted
        ? 'pool_exhausted'
        : e.kind === 'attempt'
          ? 'attempt_timeout'
          : 'total_timeout';
      event('timeout', name, 'error');
    }),
    events.breakerTransition.event((e) => {
      const server_address = addressOf(e.origin);
      for (const state of ['closed', 'open', 'half_open'] as const) {
        families.breakerState.set(stateOf(server_address, state), state === e.to ? 1 : 0);
      }
      families.breakerTransitions.inc(transitionOf(server_address, e.from, e.to));
      if (e.to === 'open') event('circuit_breaker', 'opened', 'error');
      else if (e.to === 'half_open') event('circuit_breaker', 'half_opened', 'warning');
      else event('circuit_breaker', 'closed', 'information');
    }),
    events.breakerRejected.event((e) => {
      const server_address = addressOf(e.ctx.origin);
      families.breakerNotPermitted.inc(
        notPermittedLabels.get(server_address) ??
          notPermittedLabels.admit({ client, server_address }, server_address),
      );
      event('circuit_breaker', 'rejected', 'error');
    }),
    events.limiter.event((e) => {
      inflightLabels ??= families.caps.inflight.admit({ client });
      limitLabels ??= families.caps.limit.admit({ client });
      if (views) {
        if (!limiter) {
          limiter = { inflightLabels, limitLabels, inflight: 0, limit: 0 };
          views.add(limiter);
        }
        limiter.inflight = e.inflight;
        limiter.limit = e.limit;
      } else {
        families.inflight.set(inflightLabels, e.inflight);
        families.limit.set(limitLabels, e.limit);
      }
      if (e.rejected) event('concurrency_limiter', 'rejected', 'error');
    }),
    { dispose: () => limiter && views?.delete(limiter) },
    events.reauthorize.event((e) => {
      if (e.resent) {
        families.retries.inc(
          retriesLabels.get('401') ?? retriesLabels.admit({ client, reason: '401' }, '401'),
        );
        event('reauthorize', 'resent', 'warning');
      } else {
        event('reauthorize', 'not_resent', 'warning');
      }
    }),
    events.tokenWithheld.event(() => {
      event('reauthorize', 'token_withheld', 'warning');
    }),
    events.faultInjected.event(() => {
      event('chaos', 'fault_injected', 'information');
    }),
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

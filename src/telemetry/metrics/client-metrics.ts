import { isSpanContextValid, type Span, TraceFlags } from '@opentelemetry/api';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { Disposable } from '../../pipeline/event.js';
import type { Severity } from '../../pipeline/events.js';
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
 * client's configured origins (else `_OTHER`), `error_type` from a closed vocabulary.
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

  const event = (strategy: StrategyLabel, name: string, severity: Severity) =>
    families.events.inc({ client, strategy, event: name, severity });

  const views = families.limiterViews;
  const limiter: LimiterView = { client, inflight: 0, limit: 0 };
  let limiterSeen = false;

  // Every origin starts closed, so "open breakers" panels read 0 rather than no data, and
  // every transition series exists at 0 before the first transition: a counter series born
  // at 1 shows no increase(), and the flapping alert would miss the first cycle.
  for (const { server_address } of new Set(originLabels.values())) {
    families.breakerState.set({ client, server_address, state: 'closed' }, 1);
    families.breakerState.set({ client, server_address, state: 'open' }, 0);
    families.breakerState.set({ client, server_address, state: 'half_open' }, 0);
    for (const [from_state, to_state] of BREAKER_TRANSITIONS) {
      families.breakerTransitions.inc({ client, server_address, from_state, to_state }, 0);
    }
  }

  return [
    events.attemptEnd.event((e) => {
      const { ctx, outcome } = e;
      const origin = labelsOf(ctx.origin);
      const labels: Record<string, string> = {
        client,
        http_request_method: normalizeMethod(ctx.method),
        server_address: origin.server_address,
        server_port: origin.server_port,
      };
      if (outcome.kind === 'response') {
        labels.http_response_status_code = boundStatusCode(outcome.response.status);
      }
      const errorType = boundErrorType(e.errorType);
      if (errorType !== undefined) labels.error_type = errorType;
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
      families.calls.inc({ client, kind });
      const labels = { client, outcome: result };
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
      families.retries.inc({ client, reason: boundErrorType(e.reason) ?? OTHER });
      families.retryDelay.inc({ client, source: e.delaySource }, e.delayMs / 1000);
      event('retry', 'retry', 'warning');
    }),
    events.retryGiveUp.event((e) => {
      if (e.reason === 'budget_exhausted') return; // counted once, at callEnd
      event('retry', 'give_up', e.reason === 'not_transient' ? 'information' : 'warning');
    }),
    events.timeout.event((e) => {
      event('timeout', e.kind === 'attempt' ? 'attempt_timeout' : 'total_timeout', 'error');
    }),
    events.breakerTransition.event((e) => {
      const server_address = addressOf(e.origin);
      for (const state of ['closed', 'open', 'half_open'] as const) {
        families.breakerState.set({ client, server_address, state }, state === e.to ? 1 : 0);
      }
      families.breakerTransitions.inc({
        client,
        server_address,
        from_state: e.from,
        to_state: e.to,
      });
      if (e.to === 'open') event('circuit_breaker', 'opened', 'error');
      else if (e.to === 'half_open') event('circuit_breaker', 'half_opened', 'warning');
      else event('circuit_breaker', 'closed', 'information');
    }),
    events.breakerRejected.event((e) => {
      families.breakerNotPermitted.inc({ client, server_address: addressOf(e.ctx.origin) });
      event('circuit_breaker', 'rejected', 'error');
    }),
    events.limiter.event((e) => {
      if (views) {
        limiter.inflight = e.inflight;
        limiter.limit = e.limit;
        if (!limiterSeen) {
          limiterSeen = true;
          views.add(limiter);
        }
      } else {
        families.inflight.set({ client }, e.inflight);
        families.limit.set({ client }, e.limit);
      }
      if (e.rejected) event('concurrency_limiter', 'rejected', 'error');
    }),
    { dispose: () => views?.delete(limiter) },
    events.reauthorize.event((e) => {
      if (e.resent) {
        families.retries.inc({ client, reason: '401' });
        event('reauthorize', 'resent', 'warning');
      } else {
        event('reauthorize', 'not_resent', 'warning');
      }
    }),
    events.faultInjected.event(() => {
      event('chaos', 'fault_injected', 'information');
    }),
  ];
}

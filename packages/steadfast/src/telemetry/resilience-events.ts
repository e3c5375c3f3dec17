import { RetryBudgetExhaustedError } from '../errors.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import type { Disposable } from '../pipeline/event.js';
import type { Severity } from '../pipeline/events.js';
import { type AdmissionLayers, emitsRateLimit } from './admission.js';
import type { CallResult } from './attributes.js';

/** `strategy` values of `steadfast_events_total` (`steadfast.event.strategy` in OpenTelemetry). */
export type EventStrategy =
  | 'retry'
  | 'timeout'
  | 'circuit_breaker'
  | 'concurrency_limiter'
  | 'reauthorize'
  | 'chaos'
  | 'rate_limiter'
  | 'fleet_quota'
  | 'cooldown'
  | 'adaptive_throttle'
  | 'hedging'
  | 'fallback'
  | 'adaptive_concurrency';

/** The transitions a breaker makes: closed → open → half_open → closed, or back to open. */
export const BREAKER_TRANSITIONS = [
  ['closed', 'open'],
  ['open', 'half_open'],
  ['half_open', 'closed'],
  ['half_open', 'open'],
] as const;

/** `kind` values of `steadfast_calls_total` (`steadfast.call.kind`). */
export type CallKind =
  | 'successful_without_retry'
  | 'successful_with_retry'
  | 'failed_without_retry'
  | 'failed_with_retry'
  | 'not_permitted';

export const CALL_KINDS: readonly CallKind[] = [
  'successful_without_retry',
  'successful_with_retry',
  'failed_without_retry',
  'failed_with_retry',
  'not_permitted',
];

/** The kind of a call that ended with `result` (not `aborted`) after `attempts` attempts. */
export function callKindOf(result: Exclude<CallResult, 'aborted'>, attempts: number): CallKind {
  if (result === 'rejected') return 'not_permitted';
  const retried = attempts > 1;
  if (result === 'success') return retried ? 'successful_with_retry' : 'successful_without_retry';
  return retried ? 'failed_with_retry' : 'failed_without_retry';
}

/**
 * The one vocabulary of resilience events both metrics adapters count (the prom-client
 * family `steadfast_events_total` and its OpenTelemetry twin `steadfast.events`): which
 * pipeline event is which (strategy, event, severity), documented in docs/telemetry.md.
 */
export function subscribeResilienceEvents(
  events: ClientEvents,
  count: (strategy: EventStrategy, event: string, severity: Severity) => void,
): Disposable[] {
  return [
    events.callEnd.event(({ outcome }) => {
      // Counted once per call here, not at each retryGiveUp.
      if (outcome.kind === 'error' && outcome.error instanceof RetryBudgetExhaustedError) {
        count('retry', 'budget_exhausted', 'error');
      }
    }),
    events.retry.event(() => count('retry', 'retry', 'warning')),
    events.retryGiveUp.event((e) => {
      if (e.reason === 'budget_exhausted') return; // counted once, at callEnd
      count('retry', 'give_up', e.reason === 'not_transient' ? 'information' : 'warning');
    }),
    events.timeout.event((e) => {
      const name = e.poolExhausted
        ? 'pool_exhausted'
        : e.kind === 'attempt'
          ? 'attempt_timeout'
          : 'total_timeout';
      count('timeout', name, 'error');
    }),
    events.breakerTransition.event((e) => {
      if (e.to === 'open') count('circuit_breaker', 'opened', 'error');
      else if (e.to === 'half_open') count('circuit_breaker', 'half_opened', 'warning');
      else count('circuit_breaker', 'closed', 'information');
    }),
    events.breakerRejected.event(() => count('circuit_breaker', 'rejected', 'error')),
    events.limiter.event((e) => {
      if (e.rejected) count('concurrency_limiter', 'rejected', 'error');
    }),
    events.reauthorize.event((e) =>
      count('reauthorize', e.resent ? 'resent' : 'not_resent', 'warning'),
    ),
    events.tokenWithheld.event(() => count('reauthorize', 'token_withheld', 'warning')),
    events.faultInjected.event(() => count('chaos', 'fault_injected', 'information')),
  ];
}

/**
 * The admission layers' part of the same vocabulary: refused permits, server-driven pauses
 * and the fleet quota's fallback to its local share. Subscribes only to the events of the
 * layers the client has.
 */
export function subscribeAdmissionEvents(
  events: ClientEvents,
  layers: AdmissionLayers,
  count: (strategy: EventStrategy, event: string, severity: Severity) => void,
): Disposable[] {
  const subscriptions: Disposable[] = [];
  if (emitsRateLimit(layers)) {
    subscriptions.push(
      events.rateLimit.event((e) => {
        if (e.rejected !== undefined) count(e.limiter, 'rejected', 'error');
      }),
    );
  }
  if (layers.quotaLimitPerSecond !== undefined) {
    subscriptions.push(
      events.quotaFallback.event((e) =>
        e.active
          ? count('fleet_quota', 'fallback_started', 'warning')
          : count('fleet_quota', 'fallback_ended', 'information'),
      ),
    );
  }
  if (layers.cooldown) {
    subscriptions.push(
      events.cooldown.event((e) =>
        e.change === 'started'
          ? count('cooldown', 'cooldown_started', 'warning')
          : count('cooldown', 'cooldown_ended', 'information'),
      ),
    );
  }
  return subscriptions;
}

import { RetryBudgetExhaustedError } from '../errors.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import type { Disposable } from '../pipeline/event.js';
import type { Severity } from '../pipeline/events.js';
import { type AdmissionLayers, emitsRateLimit } from './admission.js';
import type { CallResult } from './attributes.js';
import type { ToolboxLayers } from './toolbox.js';

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

/**
 * `kind` values of `steadfast_calls_total` (`steadfast.call.kind`). `fallback`: the call's
 * outcome was replaced by the fallback (a stale response or the handler's); only clients
 * with a fallback have it.
 */
export type CallKind =
  | 'successful_without_retry'
  | 'successful_with_retry'
  | 'failed_without_retry'
  | 'failed_with_retry'
  | 'not_permitted'
  | 'fallback';

export const CALL_KINDS: readonly CallKind[] = [
  'successful_without_retry',
  'successful_with_retry',
  'failed_without_retry',
  'failed_with_retry',
  'not_permitted',
  'fallback',
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

/**
 * The toolbox strategies' part of the same vocabulary: hedges sent and skipped, fallbacks
 * served or not, adaptive limits moving, the adaptive throttle refusing. Subscribes only to
 * the events of the layers the client has. (A throttle refusal is counted once: from
 * `rateLimit`, by {@link subscribeAdmissionEvents}, as `adaptive_throttle` / `rejected`.)
 */
export function subscribeToolboxEvents(
  events: ClientEvents,
  layers: ToolboxLayers,
  count: (strategy: EventStrategy, event: string, severity: Severity) => void,
): Disposable[] {
  const subscriptions: Disposable[] = [];
  if (layers.hedging) {
    subscriptions.push(
      events.hedge.event((e) =>
        e.skipped === undefined
          ? count('hedging', 'hedge_sent', 'information')
          : count('hedging', 'budget_exhausted', 'warning'),
      ),
    );
  }
  if (layers.fallback) {
    subscriptions.push(
      events.fallback.event((e) =>
        e.served
          ? count('fallback', e.kind === 'stale' ? 'stale_served' : 'handler_served', 'warning')
          : count('fallback', 'not_served', 'error'),
      ),
    );
  }
  if (layers.adaptiveConcurrency !== undefined) {
    subscriptions.push(
      events.concurrencyLimit.event((e) => {
        if (e.limit > e.previous) count('adaptive_concurrency', 'limit_increased', 'information');
        else if (e.limit < e.previous) {
          count('adaptive_concurrency', 'limit_decreased', 'warning');
        }
      }),
    );
  }
  return subscriptions;
}

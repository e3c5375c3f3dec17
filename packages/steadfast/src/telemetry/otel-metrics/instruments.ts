import type { Counter, Histogram, Meter, ObservableGauge } from '@opentelemetry/api';
import {
  CALL_DURATION_BUCKETS,
  DURATION_BUCKETS,
  QUOTA_LEASE_BUCKETS,
  RATE_LIMIT_WAIT_BUCKETS,
  STALE_AGE_BUCKETS,
} from '../metrics/families.js';

/**
 * The OpenTelemetry instrument of each Prometheus family of the contract, by name. Names
 * follow OpenTelemetry's guidance: dots, the unit in `unit` and not in the name, no
 * `_total`; the attempt histogram is the HTTP semantic convention's own. docs/telemetry.md
 * lists each one next to its Prometheus twin.
 */
export const OTEL_INSTRUMENT_NAMES = {
  attemptDuration: 'http.client.request.duration',
  calls: 'steadfast.calls',
  callDuration: 'steadfast.call.duration',
  retries: 'steadfast.retries',
  retryDelay: 'steadfast.retry.delay',
  events: 'steadfast.events',
  breakerState: 'steadfast.circuit_breaker.state',
  breakerTransitions: 'steadfast.circuit_breaker.transitions',
  breakerNotPermitted: 'steadfast.circuit_breaker.not_permitted_calls',
  inflight: 'steadfast.concurrency.inflight',
  limit: 'steadfast.concurrency.limit',
  rateLimitPermits: 'steadfast.rate_limit.permits',
  rateLimitWait: 'steadfast.rate_limit.wait',
  rateLimitRejections: 'steadfast.rate_limit.rejections',
  quotaLeaseSize: 'steadfast.quota.lease.size',
  quotaStoreCommands: 'steadfast.quota.store.commands',
  quotaFallbackActive: 'steadfast.quota.fallback.active',
  quotaLimitPerSecond: 'steadfast.quota.limit',
  cooldownTransitions: 'steadfast.cooldown.transitions',
  cooldownPaused: 'steadfast.cooldown.paused_time',
  cooldownActiveScopes: 'steadfast.cooldown.active_scopes',
  hedgesSent: 'steadfast.hedges.sent',
  hedgesSkipped: 'steadfast.hedges.skipped',
  hedgedCalls: 'steadfast.hedged_calls',
  hedgesCancelled: 'steadfast.hedges.cancelled',
  fallbacks: 'steadfast.fallbacks',
  fallbackStaleAge: 'steadfast.fallback.stale_age',
  adaptiveLimit: 'steadfast.adaptive_concurrency.limit',
  adaptiveLimitBound: 'steadfast.adaptive_concurrency.limit_bound',
  adaptiveLimitChanges: 'steadfast.adaptive_concurrency.limit_changes',
  adaptiveInflight: 'steadfast.adaptive_concurrency.inflight',
  throttleProbability: 'steadfast.adaptive_throttle.rejection_probability',
  tokenFetches: 'steadfast.token.fetches',
  tokenFetchDuration: 'steadfast.token.fetch.duration',
  tokenLookups: 'steadfast.token.cache.lookups',
  tokenInvalidations: 'steadfast.token.invalidations',
  tokenExpiry: 'steadfast.token.expiry_time',
  tokenStoreUp: 'steadfast.token.store.up',
} as const;

/** Every instrument of the adapter, created once per meter. */
export interface OtelInstruments {
  readonly attemptDuration: Histogram;
  readonly calls: Counter;
  readonly callDuration: Histogram;
  readonly retries: Counter;
  readonly retryDelay: Counter;
  readonly events: Counter;
  /** 1 for the current state of each origin's breaker, 0 for the others (read at collection). */
  readonly breakerState: ObservableGauge;
  readonly breakerTransitions: Counter;
  readonly breakerNotPermitted: Counter;
  readonly inflight: ObservableGauge;
  readonly limit: ObservableGauge;
  readonly rateLimitPermits: Counter;
  readonly rateLimitWait: Histogram;
  readonly rateLimitRejections: Counter;
  readonly quotaLeaseSize: Histogram;
  readonly quotaStoreCommands: Counter;
  readonly quotaFallbackActive: ObservableGauge;
  readonly quotaLimitPerSecond: ObservableGauge;
  readonly cooldownTransitions: Counter;
  readonly cooldownPaused: Counter;
  readonly cooldownActiveScopes: ObservableGauge;
  readonly hedgesSent: Counter;
  readonly hedgesSkipped: Counter;
  readonly hedgedCalls: Counter;
  readonly hedgesCancelled: Counter;
  readonly fallbacks: Counter;
  readonly fallbackStaleAge: Histogram;
  /** The current limit of each origin (read at collection). */
  readonly adaptiveLimit: ObservableGauge;
  readonly adaptiveLimitBound: ObservableGauge;
  readonly adaptiveLimitChanges: Counter;
  readonly adaptiveInflight: ObservableGauge;
  /** Each origin's rejection probability, read from the throttle at collection. */
  readonly throttleProbability: ObservableGauge;
  readonly tokenFetches: Counter;
  readonly tokenFetchDuration: Histogram;
  readonly tokenLookups: Counter;
  readonly tokenInvalidations: Counter;
  readonly tokenExpiry: ObservableGauge;
  readonly tokenStoreUp: ObservableGauge;
}

const byMeter = new WeakMap<Meter, OtelInstruments>();

/**
 * The adapter's instruments on `meter`, created on first use and shared by every client of
 * that meter (SDK meters are cached per name and version, so clients of one provider share
 * one meter). Gauges are asynchronous: each client adds its callback and removes it when
 * it is disposed, and a limiter or breaker event is a plain field write.
 */
export function otelInstrumentsFor(meter: Meter): OtelInstruments {
  const existing = byMeter.get(meter);
  if (existing) return existing;
  const seconds = (description: string, buckets: readonly number[]) => ({
    description,
    unit: 's',
    advice: { explicitBucketBoundaries: [...buckets] },
  });
  const N = OTEL_INSTRUMENT_NAMES;
  const instruments: OtelInstruments = {
    attemptDuration: meter.createHistogram(
      N.attemptDuration,
      seconds(
        'Duration of one HTTP wire attempt, until the response headers arrived.',
        DURATION_BUCKETS,
      ),
    ),
    calls: meter.createCounter(N.calls, {
      description: 'Logical calls by outcome kind.',
      unit: '{call}',
    }),
    callDuration: meter.createHistogram(
      N.callDuration,
      seconds(
        'Duration of one logical call, every attempt and backoff included.',
        CALL_DURATION_BUCKETS,
      ),
    ),
    retries: meter.createCounter(N.retries, {
      description:
        'Re-sends (transient retries and 401 re-sends) by the error.type that caused them.',
      unit: '{retry}',
    }),
    retryDelay: meter.createCounter(N.retryDelay, {
      description: 'Time spent waiting before re-sends, by where the delay came from.',
      unit: 's',
    }),
    events: meter.createCounter(N.events, {
      description: 'Resilience events by strategy, event and severity.',
      unit: '{event}',
    }),
    breakerState: meter.createObservableGauge(N.breakerState, {
      description: 'Circuit breaker state per origin: 1 for the current state, 0 for the others.',
      unit: '1',
    }),
    breakerTransitions: meter.createCounter(N.breakerTransitions, {
      description: 'Circuit breaker state transitions per origin.',
      unit: '{transition}',
    }),
    breakerNotPermitted: meter.createCounter(N.breakerNotPermitted, {
      description: 'Attempts short-circuited by an open circuit breaker.',
      unit: '{call}',
    }),
    inflight: meter.createObservableGauge(N.inflight, {
      description: 'Calls in flight (bulkhead use).',
      unit: '{call}',
    }),
    limit: meter.createObservableGauge(N.limit, {
      description: 'Configured concurrency limit.',
      unit: '{call}',
    }),
    rateLimitPermits: meter.createCounter(N.rateLimitPermits, {
      description:
        'Permits granted to wire attempts by an admission layer (attempt weights summed).',
      unit: '{permit}',
    }),
    rateLimitWait: meter.createHistogram(
      N.rateLimitWait,
      seconds(
        'How long a wire attempt waited for its permit, granted attempts only.',
        RATE_LIMIT_WAIT_BUCKETS,
      ),
    ),
    rateLimitRejections: meter.createCounter(N.rateLimitRejections, {
      description: 'Wire attempts refused a permit (not sent), by admission layer and reason.',
      unit: '{attempt}',
    }),
    quotaLeaseSize: meter.createHistogram(N.quotaLeaseSize, {
      description: 'Permits granted by one fleet-quota store lease.',
      unit: '{permit}',
      advice: { explicitBucketBoundaries: [...QUOTA_LEASE_BUCKETS] },
    }),
    quotaStoreCommands: meter.createCounter(N.quotaStoreCommands, {
      description: 'Fleet-quota leases asked of the shared store, by result (ok, denied, error).',
      unit: '{command}',
    }),
    quotaFallbackActive: meter.createObservableGauge(N.quotaFallbackActive, {
      description:
        'Whether the fleet quota runs on its local share because its store failed (1) or not (0).',
      unit: '1',
    }),
    quotaLimitPerSecond: meter.createObservableGauge(N.quotaLimitPerSecond, {
      description: 'The configured fleet quota, in permits per second for the whole fleet.',
      unit: '{permit}/s',
    }),
    cooldownTransitions: meter.createCounter(N.cooldownTransitions, {
      description: 'Server-driven pauses started and ended, by what started them.',
      unit: '{transition}',
    }),
    cooldownPaused: meter.createCounter(N.cooldownPaused, {
      description: 'Time paused by server-driven cooldowns that ended, summed over paused scopes.',
      unit: 's',
    }),
    cooldownActiveScopes: meter.createObservableGauge(N.cooldownActiveScopes, {
      description: 'Scopes (origins, by default) under a server-driven pause now.',
      unit: '{scope}',
    }),
    hedgesSent: meter.createCounter(N.hedgesSent, {
      description:
        'Hedged attempts sent while earlier attempts of the same call were still out, by endpoint and trigger (delay, failure).',
      unit: '{attempt}',
    }),
    hedgesSkipped: meter.createCounter(N.hedgesSkipped, {
      description:
        'Hedged attempts the hedging layer would have sent and did not, by trigger and reason (budget_exhausted).',
      unit: '{attempt}',
    }),
    hedgedCalls: meter.createCounter(N.hedgedCalls, {
      description:
        'Calls that sent at least one hedge, by the attempt whose outcome they took (primary, hedge, none) and its endpoint.',
      unit: '{call}',
    }),
    hedgesCancelled: meter.createCounter(N.hedgesCancelled, {
      description: 'Attempts of hedged calls cancelled because another attempt answered first.',
      unit: '{attempt}',
    }),
    fallbacks: meter.createCounter(N.fallbacks, {
      description:
        'Calls whose outcome the fallback replaced (served) or could not, by kind (stale, handler) and trigger error.type.',
      unit: '{call}',
    }),
    fallbackStaleAge: meter.createHistogram(
      N.fallbackStaleAge,
      seconds('Age of the stale responses the fallback served.', STALE_AGE_BUCKETS),
    ),
    adaptiveLimit: meter.createObservableGauge(N.adaptiveLimit, {
      description: 'Current adaptive concurrency limit per origin.',
      unit: '{call}',
    }),
    adaptiveLimitBound: meter.createObservableGauge(N.adaptiveLimitBound, {
      description: 'Configured bounds of the adaptive concurrency limit (min, max).',
      unit: '{call}',
    }),
    adaptiveLimitChanges: meter.createCounter(N.adaptiveLimitChanges, {
      description:
        'Changes of the adaptive concurrency limit per origin, by direction (increase, decrease).',
      unit: '{change}',
    }),
    adaptiveInflight: meter.createObservableGauge(N.adaptiveInflight, {
      description: 'Calls in flight per origin under the adaptive concurrency limit.',
      unit: '{call}',
    }),
    throttleProbability: meter.createObservableGauge(N.throttleProbability, {
      description:
        "Probability with which the adaptive throttle refuses an origin's next attempt, read at collection.",
      unit: '1',
    }),
    tokenFetches: meter.createCounter(N.tokenFetches, {
      description: 'Token-endpoint requests made by this instance.',
      unit: '{fetch}',
    }),
    tokenFetchDuration: meter.createHistogram(
      N.tokenFetchDuration,
      seconds('Token-endpoint request latency.', DURATION_BUCKETS),
    ),
    tokenLookups: meter.createCounter(N.tokenLookups, {
      description: 'Token cache lookups by level (local, store) and result (hit, miss, coalesced).',
      unit: '{lookup}',
    }),
    tokenInvalidations: meter.createCounter(N.tokenInvalidations, {
      description: 'Token invalidations after a 401, by what was found in the cache.',
      unit: '{invalidation}',
    }),
    tokenExpiry: meter.createObservableGauge(N.tokenExpiry, {
      description: 'Unix time when the token in use expires.',
      unit: 's',
    }),
    tokenStoreUp: meter.createObservableGauge(N.tokenStoreUp, {
      description: 'Whether the shared token store is reachable (0 = this instance works alone).',
      unit: '1',
    }),
  };
  byMeter.set(meter, instruments);
  return instruments;
}

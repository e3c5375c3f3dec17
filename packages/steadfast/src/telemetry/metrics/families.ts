import { type Counter, Gauge, type Histogram, Registry } from 'prom-client';
import { InvalidConfigurationError } from '../../errors.js';
import type { MetricsRegistry } from '../types.js';
import { PACKAGE_VERSION } from '../version.js';
import { BindableCounter, BindableHistogram } from './bound-series.js';
import { DEFAULT_MAX_SERIES_PER_FAMILY, SeriesCap } from './series-cap.js';

/** Semconv advisory buckets of `http.client.request.duration`, in seconds (contract "B"). */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
] as const;
/** B plus 15, 30, 60 s: a logical call includes backoff and may run up to its deadline. */
export const CALL_DURATION_BUCKETS = [...DURATION_BUCKETS, 15, 30, 60] as const;
/**
 * Waits for a permit, in seconds: 1 ms (a limiter with room) up to 60 s (the default
 * longest server-driven pause, `cooldown.maxMs`).
 */
export const RATE_LIMIT_WAIT_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;
/** Permits granted by one quota store lease. */
export const QUOTA_LEASE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] as const;
/**
 * Age of a stale response the fallback served, in seconds: from a second to a day (a stale
 * entry's `maxAge` is minutes to hours in practice).
 */
export const STALE_AGE_BUCKETS = [
  1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400,
] as const;

/** The latest limiter report of one client, with the label sets its gauges were admitted as. */
export interface LimiterView {
  readonly inflightLabels: Readonly<Record<string, string>>;
  readonly limitLabels: Readonly<Record<string, string>>;
  inflight: number;
  limit: number;
}

/**
 * What a client reads into a gauge when the registry is scraped: `set` each label set's
 * value (label sets admitted under the family's cap beforehand).
 */
export type GaugeCollector = (
  set: (labels: Readonly<Record<string, string>>, value: number) => void,
) => void;

/** Every family of the contract, registered once per registry. */
export interface Families {
  readonly attemptDuration: Histogram<
    | 'client'
    | 'http_request_method'
    | 'server_address'
    | 'server_port'
    | 'http_response_status_code'
    | 'error_type'
  >;
  readonly calls: Counter<'client' | 'kind'>;
  readonly callDuration: Histogram<'client' | 'outcome'>;
  readonly retries: Counter<'client' | 'reason'>;
  readonly retryDelay: Counter<'client' | 'source'>;
  readonly events: Counter<'client' | 'strategy' | 'event' | 'severity'>;
  readonly breakerState: Gauge<'client' | 'server_address' | 'state'>;
  readonly breakerTransitions: Counter<'client' | 'server_address' | 'from_state' | 'to_state'>;
  readonly breakerNotPermitted: Counter<'client' | 'server_address'>;
  readonly inflight: Gauge<'client'>;
  readonly limit: Gauge<'client'>;
  /**
   * Limiter state per client, copied into `inflight`/`limit` when the registry is scraped
   * (the limiter reports twice per call; a plain field write is cheaper than a gauge set).
   * `undefined` when the gauges were registered by another copy of this module: set them directly.
   */
  readonly limiterViews: Set<LimiterView> | undefined;
  readonly rateLimitPermits: Counter<'client' | 'limiter'>;
  readonly rateLimitWait: Histogram<'client' | 'limiter'>;
  readonly rateLimitRejections: Counter<'client' | 'limiter' | 'reason'>;
  readonly quotaLeaseSize: Histogram<'client'>;
  readonly quotaStoreCommands: Counter<'client' | 'result'>;
  readonly quotaFallbackActive: Gauge<'client'>;
  readonly quotaLimitPerSecond: Gauge<'client'>;
  readonly cooldownTransitions: Counter<'client' | 'change' | 'source'>;
  readonly cooldownPaused: Counter<'client'>;
  readonly cooldownActiveScopes: Gauge<'client'>;
  readonly hedgesSent: Counter<'client' | 'server_address' | 'trigger'>;
  readonly hedgesSkipped: Counter<'client' | 'trigger' | 'reason'>;
  readonly hedgedCalls: Counter<'client' | 'server_address' | 'winner'>;
  readonly hedgesCancelled: Counter<'client'>;
  readonly fallbacks: Counter<'client' | 'kind' | 'trigger' | 'served'>;
  readonly fallbackStaleAge: Histogram<'client'>;
  readonly adaptiveLimit: Gauge<'client' | 'server_address'>;
  readonly adaptiveLimitBound: Gauge<'client' | 'bound'>;
  readonly adaptiveLimitChanges: Counter<'client' | 'server_address' | 'direction'>;
  readonly adaptiveInflight: Gauge<'client' | 'server_address'>;
  readonly throttleProbability: Gauge<'client' | 'server_address'>;
  /**
   * The clients' collectors of `adaptiveInflight` and `throttleProbability`, run when the
   * registry is scraped. `undefined` when the gauges were registered by another copy of
   * this module (no collect hook of ours): set them directly, or not at all.
   */
  readonly gaugeCollectors:
    | {
        readonly adaptiveInflight: Set<GaugeCollector>;
        readonly throttleProbability: Set<GaugeCollector>;
      }
    | undefined;
  readonly tokenFetches: Counter<'credential' | 'result' | 'error_type'>;
  readonly tokenFetchDuration: Histogram<'credential' | 'result'>;
  readonly tokenLookups: Counter<'credential' | 'level' | 'result'>;
  readonly tokenInvalidations: Counter<'credential' | 'result'>;
  readonly tokenExpiry: Gauge<'credential'>;
  readonly tokenStoreUp: Gauge<'credential'>;
  readonly buildInfo: Gauge<'version'>;
  /** The series cap of each family that can grow (every one but `steadfast_build_info`). */
  readonly caps: { readonly [K in CappedFamily]: SeriesCap };
  /** `maxSeriesPerFamily` of this registry's families. */
  readonly maxSeriesPerFamily: number;
}

/** The families that carry a series cap. */
export type CappedFamily = Exclude<
  keyof Families,
  'limiterViews' | 'gaugeCollectors' | 'buildInfo' | 'caps' | 'maxSeriesPerFamily'
>;

/** The names of every family the SDK registers (what `promtool check metrics` lints). */
export const FAMILY_NAMES = [
  'http_client_request_duration_seconds',
  'steadfast_calls_total',
  'steadfast_call_duration_seconds',
  'steadfast_retries_total',
  'steadfast_retry_delay_seconds_total',
  'steadfast_events_total',
  'steadfast_circuit_breaker_state',
  'steadfast_circuit_breaker_transitions_total',
  'steadfast_circuit_breaker_not_permitted_calls_total',
  'steadfast_concurrency_inflight_calls',
  'steadfast_concurrency_limit',
  'steadfast_rate_limit_permits_total',
  'steadfast_rate_limit_wait_seconds',
  'steadfast_rate_limit_rejections_total',
  'steadfast_quota_lease_size',
  'steadfast_quota_store_commands_total',
  'steadfast_quota_fallback_active',
  'steadfast_quota_limit_per_second',
  'steadfast_cooldown_transitions_total',
  'steadfast_cooldown_paused_seconds_total',
  'steadfast_cooldown_active_scopes',
  'steadfast_hedges_sent_total',
  'steadfast_hedges_skipped_total',
  'steadfast_hedged_calls_total',
  'steadfast_hedges_cancelled_total',
  'steadfast_fallbacks_total',
  'steadfast_fallback_stale_age_seconds',
  'steadfast_adaptive_concurrency_limit',
  'steadfast_adaptive_concurrency_limit_bound',
  'steadfast_adaptive_concurrency_limit_changes_total',
  'steadfast_adaptive_concurrency_inflight_calls',
  'steadfast_adaptive_throttle_rejection_probability',
  'steadfast_token_fetches_total',
  'steadfast_token_fetch_duration_seconds',
  'steadfast_token_cache_lookups_total',
  'steadfast_token_invalidations_total',
  'steadfast_token_expiry_timestamp_seconds',
  'steadfast_token_store_up',
  'steadfast_build_info',
] as const;

const byRegistry = new WeakMap<MetricsRegistry, Families>();

/**
 * The SDK's families in `registry`, created on first use. Several clients (and several
 * copies of this module) share one registry: a family already registered under the same
 * name, type and labels is reused; a clash with something else is a configuration error.
 *
 * `maxSeriesPerFamily` (default {@link DEFAULT_MAX_SERIES_PER_FAMILY}) is set by the first
 * client of a registry; a later client may leave it out or repeat it, but not change it (the
 * families, and so their caps, are shared). A copy of this module that reuses families
 * registered by another copy caps only what it records itself.
 */
export function familiesFor(registry: MetricsRegistry, maxSeriesPerFamily?: number): Families {
  const existing = byRegistry.get(registry);
  if (existing) {
    if (maxSeriesPerFamily !== undefined && maxSeriesPerFamily !== existing.maxSeriesPerFamily) {
      throw new InvalidConfigurationError(
        'telemetry.metrics.maxSeriesPerFamily',
        `this registry's families are already capped at ${existing.maxSeriesPerFamily} series by another client; clients sharing a registry share its cap, got ${maxSeriesPerFamily}`,
      );
    }
    return existing;
  }
  const seriesLimit = maxSeriesPerFamily ?? DEFAULT_MAX_SERIES_PER_FAMILY;
  const exemplars = registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE;
  const registers = [registry];

  function reuse<M>(name: string, type: string, labelNames: readonly string[]): M | undefined {
    const found = registry.getSingleMetric(name) as
      | { type?: string; labelNames?: readonly string[] }
      | undefined;
    if (!found) return undefined;
    const same =
      found.type === type &&
      found.labelNames?.length === labelNames.length &&
      labelNames.every((l) => found.labelNames?.includes(l));
    if (!same) {
      throw new InvalidConfigurationError(
        'telemetry.metrics.registry',
        `the registry already holds a metric named ${name} with another type or other labels`,
      );
    }
    return found as M;
  }

  function counter<L extends string>(name: string, help: string, labelNames: readonly L[]) {
    return (
      reuse<Counter<L>>(name, 'counter', labelNames) ??
      new BindableCounter<L>({ name, help, labelNames, registers })
    );
  }
  function gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect?: (this: Gauge<L>) => void,
  ) {
    return (
      reuse<Gauge<L>>(name, 'gauge', labelNames) ??
      new Gauge<L>({ name, help, labelNames, registers, ...(collect ? { collect } : {}) })
    );
  }
  function histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
    enableExemplars: boolean,
  ) {
    return (
      reuse<Histogram<L>>(name, 'histogram', labelNames) ??
      new BindableHistogram<L>({
        name,
        help,
        labelNames,
        buckets: [...buckets],
        registers,
        enableExemplars,
      })
    );
  }

  const limiterViews = new Set<LimiterView>();
  const inflight = gauge(
    'steadfast_concurrency_inflight_calls',
    'Calls in flight (bulkhead use).',
    ['client'],
    function collect() {
      for (const view of limiterViews) this.set(view.inflightLabels, view.inflight);
    },
  );
  const limit = gauge(
    'steadfast_concurrency_limit',
    'Configured concurrency limit.',
    ['client'],
    function collect() {
      for (const view of limiterViews) this.set(view.limitLabels, view.limit);
    },
  );
  // Our collect hooks are only on gauges this module created.
  const ownGauges = (inflight as unknown as { collect?: unknown }).collect !== undefined;
  const collectors = {
    adaptiveInflight: new Set<GaugeCollector>(),
    throttleProbability: new Set<GaugeCollector>(),
  };
  const collected = (which: keyof typeof collectors) =>
    function collect(this: Gauge<string>) {
      const set = (labels: Readonly<Record<string, string>>, value: number) =>
        this.set(labels, value);
      for (const collector of collectors[which]) collector(set);
    };
  const adaptiveInflight = gauge(
    'steadfast_adaptive_concurrency_inflight_calls',
    'Calls in flight per origin under the adaptive concurrency limit.',
    ['client', 'server_address'],
    collected('adaptiveInflight'),
  );
  const throttleProbability = gauge(
    'steadfast_adaptive_throttle_rejection_probability',
    "Probability with which the adaptive throttle refuses an origin's next attempt, read when scraped.",
    ['client', 'server_address'],
    collected('throttleProbability'),
  );
  const ownCollectors =
    (adaptiveInflight as unknown as { collect?: unknown }).collect !== undefined &&
    (throttleProbability as unknown as { collect?: unknown }).collect !== undefined;

  const metrics: Omit<Families, 'caps' | 'maxSeriesPerFamily'> = {
    attemptDuration: histogram(
      'http_client_request_duration_seconds',
      'Duration of one HTTP wire attempt, until the response headers arrived (semconv http.client.request.duration).',
      [
        'client',
        'http_request_method',
        'server_address',
        'server_port',
        'http_response_status_code',
        'error_type',
      ],
      DURATION_BUCKETS,
      exemplars,
    ),
    calls: counter('steadfast_calls_total', 'Logical calls by outcome kind.', ['client', 'kind']),
    callDuration: histogram(
      'steadfast_call_duration_seconds',
      'Duration of one logical call, every attempt and backoff included.',
      ['client', 'outcome'],
      CALL_DURATION_BUCKETS,
      exemplars,
    ),
    retries: counter(
      'steadfast_retries_total',
      'Re-sends (transient retries and 401 re-sends) by trigger error_type.',
      ['client', 'reason'],
    ),
    retryDelay: counter(
      'steadfast_retry_delay_seconds_total',
      'Time spent waiting before re-sends, by where the delay came from.',
      ['client', 'source'],
    ),
    events: counter(
      'steadfast_events_total',
      'Resilience events by strategy, event and severity.',
      ['client', 'strategy', 'event', 'severity'],
    ),
    breakerState: gauge(
      'steadfast_circuit_breaker_state',
      'Circuit breaker state per origin: 1 for the current state, 0 for the others.',
      ['client', 'server_address', 'state'],
    ),
    breakerTransitions: counter(
      'steadfast_circuit_breaker_transitions_total',
      'Circuit breaker state transitions per origin.',
      ['client', 'server_address', 'from_state', 'to_state'],
    ),
    breakerNotPermitted: counter(
      'steadfast_circuit_breaker_not_permitted_calls_total',
      'Attempts short-circuited by an open circuit breaker.',
      ['client', 'server_address'],
    ),
    inflight,
    limit,
    limiterViews: ownGauges ? limiterViews : undefined,
    rateLimitPermits: counter(
      'steadfast_rate_limit_permits_total',
      'Permits granted to wire attempts by an admission layer (attempt weights summed).',
      ['client', 'limiter'],
    ),
    rateLimitWait: histogram(
      'steadfast_rate_limit_wait_seconds',
      'How long a wire attempt waited for its permit, granted attempts only.',
      ['client', 'limiter'],
      RATE_LIMIT_WAIT_BUCKETS,
      false,
    ),
    rateLimitRejections: counter(
      'steadfast_rate_limit_rejections_total',
      'Wire attempts refused a permit (not sent), by admission layer and reason.',
      ['client', 'limiter', 'reason'],
    ),
    quotaLeaseSize: histogram(
      'steadfast_quota_lease_size',
      'Permits granted by one fleet-quota store lease.',
      ['client'],
      QUOTA_LEASE_BUCKETS,
      false,
    ),
    quotaStoreCommands: counter(
      'steadfast_quota_store_commands_total',
      'Fleet-quota leases asked of the shared store, by result (ok, denied, error).',
      ['client', 'result'],
    ),
    quotaFallbackActive: gauge(
      'steadfast_quota_fallback_active',
      'Whether the fleet quota runs on its local share because its store failed (1) or not (0).',
      ['client'],
    ),
    quotaLimitPerSecond: gauge(
      'steadfast_quota_limit_per_second',
      'The configured fleet quota, in permits per second for the whole fleet.',
      ['client'],
    ),
    cooldownTransitions: counter(
      'steadfast_cooldown_transitions_total',
      'Server-driven pauses started and ended, by what started them.',
      ['client', 'change', 'source'],
    ),
    cooldownPaused: counter(
      'steadfast_cooldown_paused_seconds_total',
      'Time paused by server-driven cooldowns that ended, summed over paused scopes.',
      ['client'],
    ),
    cooldownActiveScopes: gauge(
      'steadfast_cooldown_active_scopes',
      'Scopes (origins, by default) under a server-driven pause now.',
      ['client'],
    ),
    hedgesSent: counter(
      'steadfast_hedges_sent_total',
      'Hedged attempts sent while earlier attempts of the same call were still out, by endpoint and trigger (delay, failure).',
      ['client', 'server_address', 'trigger'],
    ),
    hedgesSkipped: counter(
      'steadfast_hedges_skipped_total',
      'Hedged attempts the hedging layer would have sent and did not, by trigger and reason (budget_exhausted).',
      ['client', 'trigger', 'reason'],
    ),
    hedgedCalls: counter(
      'steadfast_hedged_calls_total',
      'Calls that sent at least one hedge, by the attempt whose outcome they took (primary, hedge, none) and its endpoint.',
      ['client', 'server_address', 'winner'],
    ),
    hedgesCancelled: counter(
      'steadfast_hedges_cancelled_total',
      'Attempts of hedged calls cancelled because another attempt answered first.',
      ['client'],
    ),
    fallbacks: counter(
      'steadfast_fallbacks_total',
      'Calls whose outcome the fallback replaced (served=true) or could not (served=false), by kind (stale, handler) and trigger error_type.',
      ['client', 'kind', 'trigger', 'served'],
    ),
    fallbackStaleAge: histogram(
      'steadfast_fallback_stale_age_seconds',
      'Age of the stale responses the fallback served.',
      ['client'],
      STALE_AGE_BUCKETS,
      false,
    ),
    adaptiveLimit: gauge(
      'steadfast_adaptive_concurrency_limit',
      'Current adaptive concurrency limit per origin.',
      ['client', 'server_address'],
    ),
    adaptiveLimitBound: gauge(
      'steadfast_adaptive_concurrency_limit_bound',
      'Configured bounds of the adaptive concurrency limit (bound = min, max).',
      ['client', 'bound'],
    ),
    adaptiveLimitChanges: counter(
      'steadfast_adaptive_concurrency_limit_changes_total',
      'Changes of the adaptive concurrency limit per origin, by direction (increase, decrease).',
      ['client', 'server_address', 'direction'],
    ),
    adaptiveInflight,
    throttleProbability,
    gaugeCollectors: ownCollectors ? collectors : undefined,
    tokenFetches: counter(
      'steadfast_token_fetches_total',
      'Token-endpoint requests made by this instance.',
      ['credential', 'result', 'error_type'],
    ),
    tokenFetchDuration: histogram(
      'steadfast_token_fetch_duration_seconds',
      'Token-endpoint request latency.',
      ['credential', 'result'],
      DURATION_BUCKETS,
      false,
    ),
    tokenLookups: counter(
      'steadfast_token_cache_lookups_total',
      'Token cache lookups by level (local, store) and result (hit, miss, coalesced).',
      ['credential', 'level', 'result'],
    ),
    tokenInvalidations: counter(
      'steadfast_token_invalidations_total',
      'Token invalidations after a 401, by what was found in the cache.',
      ['credential', 'result'],
    ),
    tokenExpiry: gauge(
      'steadfast_token_expiry_timestamp_seconds',
      'Unix time when the token in use expires.',
      ['credential'],
    ),
    tokenStoreUp: gauge(
      'steadfast_token_store_up',
      'Whether the shared token store is reachable (0 = this instance works alone).',
      ['credential'],
    ),
    buildInfo: gauge('steadfast_build_info', 'Steadfast SDK build information.', ['version']),
  };
  const caps = {} as Record<CappedFamily, SeriesCap>;
  for (const key of Object.keys(metrics) as (keyof typeof metrics)[]) {
    if (key === 'buildInfo' || key === 'limiterViews' || key === 'gaugeCollectors') continue;
    const metric = metrics[key] as unknown as {
      labelNames: readonly string[];
      upperBounds?: unknown;
    };
    // A histogram label set is one series per bucket, plus +Inf, _sum and _count.
    const cost = Array.isArray(metric.upperBounds) ? metric.upperBounds.length + 3 : 1;
    caps[key] = new SeriesCap(seriesLimit, metric.labelNames, cost);
  }
  const families: Families = { ...metrics, caps, maxSeriesPerFamily: seriesLimit };
  families.buildInfo.set({ version: PACKAGE_VERSION }, 1);
  byRegistry.set(registry, families);
  return families;
}

// The metric contract of docs/telemetry.md, in one place: the dashboards, the alert rules and
// their tests import it, so a panel or rule that names anything else fails a test.

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  readonly help: string;
}

/** The families the SDK exports (docs/telemetry.md, "Metrics"). */
export const SDK_METRICS = [
  {
    name: 'http_client_request_duration_seconds',
    type: 'histogram',
    labels: [
      'client',
      'http_request_method',
      'server_address',
      'server_port',
      'http_response_status_code',
      'error_type',
    ],
    help: 'One observation per wire attempt (OpenTelemetry semconv name).',
  },
  {
    name: 'steadfast_calls_total',
    type: 'counter',
    labels: ['client', 'kind'],
    help: 'Logical calls by outcome kind.',
  },
  {
    name: 'steadfast_call_duration_seconds',
    type: 'histogram',
    labels: ['client', 'outcome'],
    help: 'Whole logical call, backoff included.',
  },
  {
    name: 'steadfast_retries_total',
    type: 'counter',
    labels: ['client', 'reason'],
    help: 'Re-sends, by the error_type that triggered them.',
  },
  {
    name: 'steadfast_retry_delay_seconds_total',
    type: 'counter',
    labels: ['client', 'source'],
    help: 'Time spent waiting before re-sends.',
  },
  {
    name: 'steadfast_events_total',
    type: 'counter',
    labels: ['client', 'strategy', 'event', 'severity'],
    help: 'Every resilience event.',
  },
  {
    name: 'steadfast_circuit_breaker_state',
    type: 'gauge',
    labels: ['client', 'server_address', 'state'],
    help: '1 for the current state of the per-origin breaker, 0 for the others.',
  },
  {
    name: 'steadfast_circuit_breaker_transitions_total',
    type: 'counter',
    labels: ['client', 'server_address', 'from_state', 'to_state'],
    help: 'Breaker state changes.',
  },
  {
    name: 'steadfast_circuit_breaker_not_permitted_calls_total',
    type: 'counter',
    labels: ['client', 'server_address'],
    help: 'Attempts short-circuited by an open breaker.',
  },
  {
    name: 'steadfast_concurrency_inflight_calls',
    type: 'gauge',
    labels: ['client'],
    help: 'Calls in flight (bulkhead use).',
  },
  {
    name: 'steadfast_concurrency_limit',
    type: 'gauge',
    labels: ['client'],
    help: 'Configured concurrency limit.',
  },
  {
    name: 'steadfast_rate_limit_permits_total',
    type: 'counter',
    labels: ['client', 'limiter'],
    help: 'Permits granted to wire attempts by an admission layer (weights summed).',
  },
  {
    name: 'steadfast_rate_limit_wait_seconds',
    type: 'histogram',
    labels: ['client', 'limiter'],
    help: 'How long granted attempts waited for their permit.',
  },
  {
    name: 'steadfast_rate_limit_rejections_total',
    type: 'counter',
    labels: ['client', 'limiter', 'reason'],
    help: 'Wire attempts refused a permit, by admission layer and reason.',
  },
  {
    name: 'steadfast_quota_lease_size',
    type: 'histogram',
    labels: ['client'],
    help: 'Permits granted by one fleet-quota store lease.',
  },
  {
    name: 'steadfast_quota_store_commands_total',
    type: 'counter',
    labels: ['client', 'result'],
    help: 'Fleet-quota leases asked of the shared store, by result.',
  },
  {
    name: 'steadfast_quota_fallback_active',
    type: 'gauge',
    labels: ['client'],
    help: '1 while the fleet quota runs on its local share (store failed), else 0.',
  },
  {
    name: 'steadfast_quota_limit_per_second',
    type: 'gauge',
    labels: ['client'],
    help: 'The configured fleet quota, permits per second for the whole fleet.',
  },
  {
    name: 'steadfast_cooldown_transitions_total',
    type: 'counter',
    labels: ['client', 'change', 'source'],
    help: 'Server-driven pauses started and ended, by what started them.',
  },
  {
    name: 'steadfast_cooldown_paused_seconds_total',
    type: 'counter',
    labels: ['client'],
    help: 'How long ended server-driven pauses lasted, summed over paused scopes.',
  },
  {
    name: 'steadfast_cooldown_active_scopes',
    type: 'gauge',
    labels: ['client'],
    help: 'Scopes (origins, by default) under a server-driven pause now.',
  },
  {
    name: 'steadfast_hedges_sent_total',
    type: 'counter',
    labels: ['client', 'server_address', 'trigger'],
    help: 'Hedged attempts sent while earlier attempts were out, by endpoint and trigger (delay, failure).',
  },
  {
    name: 'steadfast_hedges_skipped_total',
    type: 'counter',
    labels: ['client', 'trigger', 'reason'],
    help: 'Hedges not sent, by trigger and reason (budget_exhausted).',
  },
  {
    name: 'steadfast_hedged_calls_total',
    type: 'counter',
    labels: ['client', 'server_address', 'winner'],
    help: 'Calls that sent at least one hedge, by the attempt they took (primary, hedge, none) and its endpoint.',
  },
  {
    name: 'steadfast_hedges_cancelled_total',
    type: 'counter',
    labels: ['client'],
    help: 'Attempts of hedged calls cancelled because another attempt answered first.',
  },
  {
    name: 'steadfast_fallbacks_total',
    type: 'counter',
    labels: ['client', 'kind', 'trigger', 'served'],
    help: 'Calls the fallback answered (served="true") or could not, by kind (stale, handler) and trigger.',
  },
  {
    name: 'steadfast_fallback_stale_age_seconds',
    type: 'histogram',
    labels: ['client'],
    help: 'Age of the stale responses the fallback served.',
  },
  {
    name: 'steadfast_adaptive_concurrency_limit',
    type: 'gauge',
    labels: ['client', 'server_address'],
    help: 'Current adaptive concurrency limit per origin.',
  },
  {
    name: 'steadfast_adaptive_concurrency_limit_bound',
    type: 'gauge',
    labels: ['client', 'bound'],
    help: 'Configured bounds of the adaptive concurrency limit (min, max).',
  },
  {
    name: 'steadfast_adaptive_concurrency_limit_changes_total',
    type: 'counter',
    labels: ['client', 'server_address', 'direction'],
    help: 'Adaptive limit changes per origin, by direction (increase, decrease).',
  },
  {
    name: 'steadfast_adaptive_concurrency_inflight_calls',
    type: 'gauge',
    labels: ['client', 'server_address'],
    help: 'Calls in flight per origin under the adaptive concurrency limit.',
  },
  {
    name: 'steadfast_adaptive_throttle_rejection_probability',
    type: 'gauge',
    labels: ['client', 'server_address'],
    help: "Probability with which the adaptive throttle refuses an origin's next attempt (read when scraped).",
  },
  {
    name: 'steadfast_token_fetches_total',
    type: 'counter',
    labels: ['credential', 'result', 'error_type'],
    help: 'Token-endpoint requests made by this instance.',
  },
  {
    name: 'steadfast_token_fetch_duration_seconds',
    type: 'histogram',
    labels: ['credential', 'result'],
    help: 'Token-endpoint latency.',
  },
  {
    name: 'steadfast_token_cache_lookups_total',
    type: 'counter',
    labels: ['credential', 'level', 'result'],
    help: 'Where tokens come from (local, store; hit, miss, coalesced).',
  },
  {
    name: 'steadfast_token_invalidations_total',
    type: 'counter',
    labels: ['credential', 'result'],
    help: '401 handling: deleted, newer_present (absorbed without a fetch), absent.',
  },
  {
    name: 'steadfast_token_expiry_timestamp_seconds',
    type: 'gauge',
    labels: ['credential'],
    help: 'Unix time at which the token in use expires.',
  },
  {
    name: 'steadfast_token_store_up',
    type: 'gauge',
    labels: ['credential'],
    help: '1 when the shared token store is reachable, 0 when the instance works alone.',
  },
  {
    name: 'steadfast_build_info',
    type: 'gauge',
    labels: ['version'],
    help: 'Always 1; carries the SDK version.',
  },
] as const satisfies readonly MetricFamily[];

/**
 * prom-client's default Node.js/process metrics the "Workers" row reads. They are optional:
 * the worker app registers them (`collectDefaultMetrics`) on its registry.
 */
export const RUNTIME_METRICS = [
  {
    name: 'nodejs_eventloop_lag_p99_seconds',
    type: 'gauge',
    labels: [],
    help: 'Event-loop lag, 99th percentile (prom-client default metric).',
  },
  {
    name: 'process_resident_memory_bytes',
    type: 'gauge',
    labels: [],
    help: 'Resident memory (prom-client default metric).',
  },
  {
    name: 'nodejs_heap_size_used_bytes',
    type: 'gauge',
    labels: [],
    help: 'V8 heap in use (prom-client default metric).',
  },
] as const satisfies readonly MetricFamily[];

/** Series Prometheus itself writes for every scrape target. */
export const SCRAPE_METRICS = [
  { name: 'up', type: 'gauge', labels: [], help: '1 when the last scrape succeeded.' },
  {
    name: 'scrape_samples_scraped',
    type: 'gauge',
    labels: [],
    help: 'Samples the target exposed at the last scrape.',
  },
] as const satisfies readonly MetricFamily[];

export type SdkMetricName = (typeof SDK_METRICS)[number]['name'];
export type KnownMetricName =
  | SdkMetricName
  | (typeof RUNTIME_METRICS)[number]['name']
  | (typeof SCRAPE_METRICS)[number]['name'];

const ALL: readonly MetricFamily[] = [...SDK_METRICS, ...RUNTIME_METRICS, ...SCRAPE_METRICS];

/** Every series name a family exposes (histograms: `_bucket`, `_sum`, `_count`). */
export function seriesNames(family: MetricFamily): string[] {
  if (family.type === 'histogram') {
    return [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`];
  }
  return [family.name];
}

/** Every series name a panel or rule may select. */
export const KNOWN_SERIES: ReadonlySet<string> = new Set(ALL.flatMap(seriesNames));

/** Narrow a string to a known family name at compile time (used by the dashboard code). */
export function metric<N extends KnownMetricName>(name: N): N {
  return name;
}

/**
 * The Prometheus job the workers are scraped under. Alert rules select it; the compose
 * prometheus.yml and the test helper scrape under it; on Kubernetes, relabel to it.
 */
export const WORKER_JOB = 'steadfast-worker';

/** The port the worker serves `/metrics` and `/healthz` on in the compose stack. */
export const WORKER_METRICS_PORT = 9464;

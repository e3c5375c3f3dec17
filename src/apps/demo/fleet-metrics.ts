import { parsePrometheusText, type Sample, sumBy, sumOf } from './prometheus-text.js';

/** Cumulative counters of one worker, or of the fleet (summed). */
export interface FleetCounters {
  /** Logical calls, by `kind` summed. */
  readonly calls: number;
  readonly succeeded: number;
  /** Calls that needed at least one retry, whatever the end. */
  readonly withRetry: number;
  /** Calls refused before any attempt (breaker open, limiter, budget). */
  readonly notPermitted: number;
  /** Wire attempts (one histogram observation each). */
  readonly attempts: number;
  readonly retriesByReason: Readonly<Record<string, number>>;
  /** Token-endpoint requests made (success and failure). */
  readonly tokenFetches: number;
  readonly tokenFetchFailures: number;
  /** 401 handling: `deleted`, `newer_present` (absorbed without a fetch), `absent`. */
  readonly tokenInvalidations: Readonly<Record<string, number>>;
  /** Short-circuited attempts (breaker open). */
  readonly breakerRejections: number;
}

/** What one scrape of one worker said. */
export interface WorkerScrape {
  readonly up: boolean;
  readonly counters: FleetCounters;
  /** Current breaker state per origin (`server_address`). */
  readonly breakers: Readonly<Record<string, string>>;
  /** 1 when the shared token store is reachable, 0 when the worker works alone. */
  readonly storeUp: number | undefined;
}

export const ZERO_COUNTERS: FleetCounters = Object.freeze({
  calls: 0,
  succeeded: 0,
  withRetry: 0,
  notPermitted: 0,
  attempts: 0,
  retriesByReason: {},
  tokenFetches: 0,
  tokenFetchFailures: 0,
  tokenInvalidations: {},
  breakerRejections: 0,
});

/** Read the counters of the telemetry contract (docs/telemetry.md) out of one exposition. */
export function countersOf(samples: readonly Sample[]): FleetCounters {
  const kinds = sumBy(samples, 'steadfast_calls_total', 'kind');
  const kind = (name: string) => kinds[name] ?? 0;
  return {
    calls: Object.values(kinds).reduce((total, value) => total + value, 0),
    succeeded: kind('successful_without_retry') + kind('successful_with_retry'),
    withRetry: kind('successful_with_retry') + kind('failed_with_retry'),
    notPermitted: kind('not_permitted'),
    attempts: sumOf(samples, 'http_client_request_duration_seconds_count'),
    retriesByReason: sumBy(samples, 'steadfast_retries_total', 'reason'),
    tokenFetches: sumOf(samples, 'steadfast_token_fetches_total'),
    tokenFetchFailures: sumOf(samples, 'steadfast_token_fetches_total', { result: 'failure' }),
    tokenInvalidations: sumBy(samples, 'steadfast_token_invalidations_total', 'result'),
    breakerRejections: sumOf(samples, 'steadfast_circuit_breaker_not_permitted_calls_total'),
  };
}

/** Scrape one worker's `/metrics`; a worker that does not answer is `up: false`. */
export async function scrapeWorker(metricsUrl: string, timeoutMs = 1_000): Promise<WorkerScrape> {
  let text: string;
  try {
    const res = await fetch(metricsUrl, {
      headers: { accept: 'text/plain; version=0.0.4' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return { up: false, counters: ZERO_COUNTERS, breakers: {}, storeUp: undefined };
    }
    text = await res.text();
  } catch {
    return { up: false, counters: ZERO_COUNTERS, breakers: {}, storeUp: undefined };
  }
  const samples = parsePrometheusText(text);
  const breakers: Record<string, string> = {};
  for (const sample of samples) {
    if (sample.name === 'steadfast_circuit_breaker_state' && sample.value === 1) {
      breakers[sample.labels.server_address ?? '?'] = sample.labels.state ?? '?';
    }
  }
  const storeSamples = samples.filter((sample) => sample.name === 'steadfast_token_store_up');
  return {
    up: true,
    counters: countersOf(samples),
    breakers,
    storeUp: storeSamples.length
      ? Math.min(...storeSamples.map((sample) => sample.value))
      : undefined,
  };
}

/** Sum counters of several workers. */
export function addCounters(all: readonly FleetCounters[]): FleetCounters {
  const add = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) => {
    const sum: Record<string, number> = { ...a };
    for (const [key, value] of Object.entries(b)) sum[key] = (sum[key] ?? 0) + value;
    return sum;
  };
  return all.reduce<FleetCounters>(
    (total, counters) => ({
      calls: total.calls + counters.calls,
      succeeded: total.succeeded + counters.succeeded,
      withRetry: total.withRetry + counters.withRetry,
      notPermitted: total.notPermitted + counters.notPermitted,
      attempts: total.attempts + counters.attempts,
      retriesByReason: add(total.retriesByReason, counters.retriesByReason),
      tokenFetches: total.tokenFetches + counters.tokenFetches,
      tokenFetchFailures: total.tokenFetchFailures + counters.tokenFetchFailures,
      tokenInvalidations: add(total.tokenInvalidations, counters.tokenInvalidations),
      breakerRejections: total.breakerRejections + counters.breakerRejections,
    }),
    ZERO_COUNTERS,
  );
}

/** `later - earlier`, field by field (counters only grow while a worker lives). */
export function subtractCounters(later: FleetCounters, earlier: FleetCounters): FleetCounters {
  const sub = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) => {
    const diff: Record<string, number> = {};
    for (const [key, value] of Object.entries(a)) {
      const delta = value - (b[key] ?? 0);
      if (delta !== 0) diff[key] = delta;
    }
    return diff;
  };
  return {
    calls: later.calls - earlier.calls,
    succeeded: later.succeeded - earlier.succeeded,
    withRetry: later.withRetry - earlier.withRetry,
    notPermitted: later.notPermitted - earlier.notPermitted,
    attempts: later.attempts - earlier.attempts,
    retriesByReason: sub(later.retriesByReason, earlier.retriesByReason),
    tokenFetches: later.tokenFetches - earlier.tokenFetches,
    tokenFetchFailures: later.tokenFetchFailures - earlier.tokenFetchFailures,
    tokenInvalidations: sub(later.tokenInvalidations, earlier.tokenInvalidations),
    breakerRejections: later.breakerRejections - earlier.breakerRejections,
  };
}

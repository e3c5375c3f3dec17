import { percentile } from '../percentile.js';
import {
  type PolicyName,
  type RawRun,
  STRATEGY_EVENT_KINDS,
  type StrategyEventKind,
} from '../types.js';

/** Attempt outcomes grouped for the "attempts per second by outcome" chart. */
export const OUTCOME_CLASSES = [
  '2xx',
  '401',
  '429',
  '5xx',
  'network',
  'timeout',
  'cancelled',
  'other',
] as const;
export type OutcomeClass = (typeof OUTCOME_CLASSES)[number];

/** The outcome of a hedged attempt cancelled because another answered first. */
export const HEDGE_CANCELLED = 'hedge_cancelled';

export function outcomeClass(outcome: string): OutcomeClass {
  if (/^2\d\d$/.test(outcome)) return '2xx';
  if (outcome === '401') return '401';
  if (outcome === '429') return '429';
  if (/^5\d\d$/.test(outcome)) return '5xx';
  if (outcome === 'timeout') return 'timeout';
  if (outcome === HEDGE_CANCELLED) return 'cancelled';
  if (/^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(outcome)) return 'network';
  return 'other';
}

/** The figures of one policy's run: what the terminal, JSON and HTML reports show. */
export interface RunSummary {
  readonly policy: PolicyName;
  readonly description: string;
  /** Calls that ended (interrupted calls are counted in `aborted`). */
  readonly calls: number;
  readonly succeeded: number;
  readonly successRatio: number;
  /** Wire attempts that reached (or tried to reach) the target. */
  readonly attempts: number;
  /** Attempts per call: the traffic amplification. */
  readonly attemptsPerCall: number;
  readonly callOutcomes: Readonly<Record<string, number>>;
  readonly attemptOutcomes: Readonly<Record<string, number>>;
  readonly retries: number;
  readonly retriesByReason: Readonly<Record<string, number>>;
  /** Time calls spent waiting before re-sends, summed, by source (backoff, retry_after). */
  readonly waitingMs: Readonly<Record<string, number>>;
  readonly breakerTransitions: readonly { t: number; from: string; to: string }[];
  readonly tokenRequests: {
    /** As counted by the IdP's token endpoint (demo target), every worker included. */
    readonly idp: number | undefined;
    /** As counted by the callers (every worker process). */
    readonly client: number;
  };
  readonly latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Latency of the calls that ended with a 2xx only (0 when none did). */
  readonly okLatencyMs: { p50: number; p99: number };
  /** The newer strategies the policy has (from its options), in a fixed order. */
  readonly strategies: readonly StrategyName[];
  /** What they did, from the client's events (every worker process summed). */
  readonly strategyEvents: Readonly<Record<StrategyEventKind, number>>;
  /**
   * The adaptive concurrency limit, when it moved: its last value (summed over worker
   * processes and origins: what the API faced at once), and the lowest and highest any
   * process had.
   */
  readonly adaptiveLimit: { final: number; min: number; max: number; changes: number } | undefined;
  readonly throughput: { callsPerSecond: number; successesPerSecond: number };
  readonly elapsedMs: number;
  readonly skipped: number;
  readonly aborted: number;
  /** The demo API's own counts, when the target is the demo. */
  readonly api: ApiCounts | undefined;
}

/** The newer strategies a policy may have, as the report names them. */
export const STRATEGY_NAMES = ['hedging', 'fallback', 'adaptive', 'throttle'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** What the demo API counted during one policy's run, every client id together. */
export interface ApiCounts {
  readonly requests: number;
  /** Responses by status (`reset` for a dropped connection); `429` counts every 429 sent. */
  readonly byStatus: Record<string, number>;
  /** Its quota at the end of the run, requests per second per client id; 0: none. */
  readonly quotaPerSecond: number;
  /** Authorized requests it let through its quota (all of them while it had none). */
  readonly accepted: number;
  /** 429s its quota answered (injected 429s are only in `byStatus`). */
  readonly quotaRateLimited: number;
  /** Requests it made slow (a profile's `slowRate`). */
  readonly slow: number;
  /**
   * Its capacity (a profile's `capacity`): the most requests it served at once and the
   * longest queue, requests refused past its queue (overloaded) and abandoned while waiting.
   * Undefined when no profile of the run had one.
   */
  readonly capacity:
    | { peakBusy: number; peakQueued: number; refused: number; abandoned: number }
    | undefined;
}

/** The API's cumulative counts at `t` (ms since the run's start). */
export interface ApiSample {
  readonly t: number;
  readonly accepted: number;
  /** Every 429 it answered. */
  readonly rateLimited: number;
}

/** Per-bucket series for the charts. */
export interface RunSeries {
  readonly bucketMs: number;
  /** Bucket start times, ms since the run's start. */
  readonly t: number[];
  readonly p50: (number | null)[];
  readonly p95: (number | null)[];
  readonly p99: (number | null)[];
  /** Attempts per second in each bucket, by outcome class. */
  readonly attemptsPerSecond: Record<OutcomeClass, number[]>;
  /**
   * Per second in each bucket: hedged attempts sent, fallbacks served (stale or handler),
   * attempts throttled in the client.
   */
  readonly strategiesPerSecond: {
    readonly hedges: number[];
    readonly fallbacks: number[];
    readonly throttled: number[];
  };
  /** The adaptive concurrency limit at the end of each bucket (summed over processes), or null before it moved. */
  readonly adaptiveLimit: (number | null)[] | undefined;
  /** Breaker state at the end of each bucket: 0 closed, 1 half-open, 2 open. */
  readonly breakerState: number[];
  /** Token-endpoint requests in each bucket (IdP's count when known, else the callers'). */
  readonly tokenFetches: number[];
  /** The demo API's own count per second in each bucket: accepted by its quota, and 429s. */
  readonly api: { readonly accepted: number[]; readonly rateLimited: number[] } | undefined;
}

export interface RunReport {
  readonly summary: RunSummary;
  readonly series: RunSeries;
}

/** Extra inputs that do not come from the callers. */
export interface RunContext {
  readonly policy: PolicyName;
  readonly description: string;
  readonly strategies: readonly StrategyName[];
  readonly elapsedMs: number;
  /** IdP token-request counter samples (t, cumulative count since the run started). */
  readonly idpTokenSamples: readonly { t: number; count: number }[] | undefined;
  /** The demo API's counters, sampled while the run went. */
  readonly apiSamples: readonly ApiSample[] | undefined;
  readonly api: ApiCounts | undefined;
}

function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

const STATE_VALUE: Record<string, number> = { closed: 0, half_open: 1, open: 2 };

/** Turn what the callers measured into the report's figures and series. */
export function summarize(raw: RawRun, context: RunContext): RunReport {
  const latencies = Float64Array.from(raw.callLatency).sort();
  // A run without calls reports 0 ms rather than NaN, which JSON would turn into null.
  const latencyAt = (p: number) => (latencies.length ? percentile(latencies, p) : 0);
  const calls = raw.callLatency.length;
  const succeeded = raw.callOk.reduce((a, b) => a + b, 0);
  const attempts = raw.attemptOutcome.length;
  const waitingMs: Record<string, number> = {};
  raw.retrySource.forEach((source, i) => {
    waitingMs[source] = (waitingMs[source] ?? 0) + raw.retryDelayMs[i]!;
  });
  const elapsedS = Math.max(context.elapsedMs, 1) / 1000;
  const idpSamples = context.idpTokenSamples;
  const idpTotal = idpSamples?.length ? idpSamples[idpSamples.length - 1]!.count : undefined;
  const transitions = [...raw.breaker].sort((a, b) => a.t - b.t);
  const okLatencies = Float64Array.from(
    raw.callLatency.filter((_, i) => raw.callOk[i] === 1),
  ).sort();
  const okLatencyAt = (p: number) => (okLatencies.length ? percentile(okLatencies, p) : 0);
  const strategyEvents = Object.fromEntries(STRATEGY_EVENT_KINDS.map((k) => [k, 0])) as Record<
    StrategyEventKind,
    number
  >;
  for (const kind of raw.strategyKind) strategyEvents[kind] += 1;

  const summary: RunSummary = {
    policy: context.policy,
    description: context.description,
    calls,
    succeeded,
    successRatio: calls === 0 ? 0 : succeeded / calls,
    attempts,
    attemptsPerCall: calls === 0 ? 0 : attempts / calls,
    callOutcomes: countBy(raw.callOutcome),
    attemptOutcomes: countBy(raw.attemptOutcome),
    retries: raw.retryReason.length,
    retriesByReason: countBy(raw.retryReason),
    waitingMs,
    breakerTransitions: transitions.map(({ t, from, to }) => ({ t, from, to })),
    tokenRequests: { idp: idpTotal, client: raw.tokenFetchAt.length },
    latencyMs: {
      p50: latencyAt(50),
      p95: latencyAt(95),
      p99: latencyAt(99),
      max: latencies.length ? latencies[latencies.length - 1]! : 0,
      mean: calls ? latencies.reduce((a, b) => a + b, 0) / calls : 0,
    },
    okLatencyMs: { p50: okLatencyAt(50), p99: okLatencyAt(99) },
    strategies: context.strategies,
    strategyEvents,
    adaptiveLimit: adaptiveLimitOf(raw.limit),
    throughput: { callsPerSecond: calls / elapsedS, successesPerSecond: succeeded / elapsedS },
    elapsedMs: context.elapsedMs,
    skipped: raw.skipped,
    aborted: raw.aborted,
    api: context.api,
  };
  return { summary, series: buildSeries(raw, context, transitions) };
}

/** The adaptive limit's figures: the last value of each (process, origin), summed; extremes. */
function adaptiveLimitOf(samples: RawRun['limit']): RunSummary['adaptiveLimit'] {
  if (samples.length === 0) return undefined;
  const last = new Map<string, number>();
  for (const s of [...samples].sort((a, b) => a.t - b.t))
    last.set(`${s.process} ${s.origin}`, s.limit);
  return {
    final: [...last.values()].reduce((a, b) => a + b, 0),
    min: samples.reduce((low, s) => Math.min(low, s.limit, s.previous), Number.POSITIVE_INFINITY),
    max: samples.reduce((high, s) => Math.max(high, s.limit, s.previous), 0),
    changes: samples.length,
  };
}

/**
 * The limit at the end of each bucket, summed over (process, origin). Before an origin's
 * first move its limit is where that move started from (the limit it began with).
 */
function limitSeries(samples: RawRun['limit'], bucketMs: number, n: number): (number | null)[] {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  const current = new Map<string, number>();
  for (const s of sorted) {
    const key = `${s.process} ${s.origin}`;
    if (!current.has(key)) current.set(key, s.previous);
  }
  const out: (number | null)[] = [];
  let next = 0;
  for (let b = 0; b < n; b++) {
    const end = (b + 1) * bucketMs;
    while (next < sorted.length && sorted[next]!.t < end) {
      const s = sorted[next++]!;
      current.set(`${s.process} ${s.origin}`, s.limit);
    }
    out.push(current.size ? [...current.values()].reduce((a, c) => a + c, 0) : null);
  }
  return out;
}

function buildSeries(raw: RawRun, context: RunContext, transitions: RawRun['breaker']): RunSeries {
  // A loop, not Math.max(...): a long run has more attempts than a call may have arguments.
  const span = raw.attemptEnd.reduce(
    (most, t) => Math.max(t, most),
    Math.max(context.elapsedMs, 1),
  );
  // About 100 buckets, rounded to a readable size.
  const bucketMs = [100, 200, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000].find(
    (size) => span / size <= 120,
  )!;
  const n = Math.max(1, Math.ceil(span / bucketMs));
  const index = (t: number) => Math.min(n - 1, Math.max(0, Math.floor(t / bucketMs)));
  const t = Array.from({ length: n }, (_, i) => i * bucketMs);

  const latencyBuckets: number[][] = Array.from({ length: n }, () => []);
  raw.callStart.forEach((start, i) => {
    latencyBuckets[index(start)]!.push(raw.callLatency[i]!);
  });
  const pick = (p: number) =>
    latencyBuckets.map((values) =>
      values.length
        ? percentile(
            values.sort((a, b) => a - b),
            p,
          )
        : null,
    );

  const perSecond = 1000 / bucketMs;
  const attemptsPerSecond = Object.fromEntries(
    OUTCOME_CLASSES.map((c) => [c, new Array(n).fill(0)]),
  ) as Record<OutcomeClass, number[]>;
  raw.attemptEnd.forEach((at, i) => {
    attemptsPerSecond[outcomeClass(raw.attemptOutcome[i]!)][index(at)]! += perSecond;
  });
  const strategiesPerSecond = {
    hedges: new Array<number>(n).fill(0),
    fallbacks: new Array<number>(n).fill(0),
    throttled: new Array<number>(n).fill(0),
  };
  raw.strategyAt.forEach((at, i) => {
    const kind = raw.strategyKind[i];
    const into =
      kind === 'hedge'
        ? strategiesPerSecond.hedges
        : kind === 'stale' || kind === 'handler'
          ? strategiesPerSecond.fallbacks
          : kind === 'throttled'
            ? strategiesPerSecond.throttled
            : undefined;
    if (into) into[index(at)]! += perSecond;
  });

  const breakerState = new Array<number>(n).fill(0);
  let state = 0;
  let next = 0;
  for (let b = 0; b < n; b++) {
    const end = (b + 1) * bucketMs;
    let worst = state;
    while (next < transitions.length && transitions[next]!.t < end) {
      state = STATE_VALUE[transitions[next]!.to] ?? 0;
      worst = Math.max(worst, state);
      next++;
    }
    breakerState[b] = worst;
  }

  const tokenFetches = new Array<number>(n).fill(0);
  const samples = context.idpTokenSamples;
  if (samples?.length) {
    let previous = 0;
    for (const sample of samples) {
      tokenFetches[index(sample.t - 1)]! += sample.count - previous;
      previous = sample.count;
    }
  } else {
    for (const at of raw.tokenFetchAt) tokenFetches[index(at)]! += 1;
  }

  return {
    bucketMs,
    t,
    api: context.apiSamples?.length
      ? {
          accepted: perBucket(context.apiSamples, (s) => s.accepted, index, n, perSecond),
          rateLimited: perBucket(context.apiSamples, (s) => s.rateLimited, index, n, perSecond),
        }
      : undefined,
    p50: pick(50),
    p95: pick(95),
    p99: pick(99),
    attemptsPerSecond,
    strategiesPerSecond,
    adaptiveLimit: raw.limit.length ? limitSeries(raw.limit, bucketMs, n) : undefined,
    breakerState,
    tokenFetches,
  };
}

/** Per-second rates in each bucket from samples of a cumulative counter. */
function perBucket(
  samples: readonly ApiSample[],
  count: (sample: ApiSample) => number,
  index: (t: number) => number,
  n: number,
  perSecond: number,
): number[] {
  const out = new Array<number>(n).fill(0);
  let previous = 0;
  for (const sample of samples) {
    out[index(sample.t - 1)]! += (count(sample) - previous) * perSecond;
    previous = count(sample);
  }
  return out;
}

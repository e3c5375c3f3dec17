import { percentile } from '../percentile.js';
import type { PolicyName, RawRun } from '../types.js';

/** Attempt outcomes grouped for the "attempts per second by outcome" chart. */
export const OUTCOME_CLASSES = ['2xx', '401', '429', '5xx', 'network', 'timeout', 'other'] as const;
export type OutcomeClass = (typeof OUTCOME_CLASSES)[number];

export function outcomeClass(outcome: string): OutcomeClass {
  if (/^2\d\d$/.test(outcome)) return '2xx';
  if (outcome === '401') return '401';
  if (outcome === '429') return '429';
  if (/^5\d\d$/.test(outcome)) return '5xx';
  if (outcome === 'timeout') return 'timeout';
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
  readonly throughput: { callsPerSecond: number; successesPerSecond: number };
  readonly elapsedMs: number;
  readonly skipped: number;
  readonly aborted: number;
  /** The demo API's own counts, when the target is the demo. */
  readonly api: ApiCounts | undefined;
}

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
    throughput: { callsPerSecond: calls / elapsedS, successesPerSecond: succeeded / elapsedS },
    elapsedMs: context.elapsedMs,
    skipped: raw.skipped,
    aborted: raw.aborted,
    api: context.api,
  };
  return { summary, series: buildSeries(raw, context, transitions) };
}

function buildSeries(raw: RawRun, context: RunContext, transitions: RawRun['breaker']): RunSeries {
  const span = Math.max(context.elapsedMs, ...raw.attemptEnd, 1);
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
    ['2xx', '401', '429', '5xx', 'network', 'timeout', 'other'].map((c) => [
      c,
      new Array(n).fill(0),
    ]),
  ) as Record<OutcomeClass, number[]>;
  raw.attemptEnd.forEach((at, i) => {
    attemptsPerSecond[outcomeClass(raw.attemptOutcome[i]!)][index(at)]! += perSecond;
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

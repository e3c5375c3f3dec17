/**
 * `--compare standard,standard+<strategy>` against the demo API's profile that shows that
 * strategy: the report carries what the strategy did (from the client's events) and the
 * API's own counts, and they agree with each other. Short runs against a real loopback API
 * and IdP; no bound on time except between the two policies of one run.
 */
import { describe, expect, it } from 'vitest';
import { hedgingBudgetSchema } from '../../../packages/steadfast/src/config/hedging-schema.js';
import { defaultsOf } from '../../../packages/steadfast/src/config/schema.js';
import type { FlakyApiStats } from '../../../src/apps/flaky-api.js';
import { policyStrategies } from '../../../src/loadtest/policies.js';
import { Progress } from '../../../src/loadtest/progress.js';
import type { RunSummary } from '../../../src/loadtest/report/summary.js';
import { terminalReport } from '../../../src/loadtest/report/terminal.js';
import { writeReports } from '../../../src/loadtest/report/write.js';
import type { LoadtestReport } from '../../../src/loadtest/run.js';
import type { DemoTarget } from '../../../src/loadtest/target.js';
import { renderedDom } from './chromium.js';
import { configFrom, run, tempDir } from './support.js';

const dir = tempDir('strategies');

/** The HTML report rendered in headless Chromium: how many charts its script drew. */
async function chartsDrawn(report: LoadtestReport, name: string): Promise<number> {
  const { html } = await writeReports(report, dir, name);
  const drawn = /data-charts-drawn="(\d+)"/.exec(await renderedDom(html));
  return Number(drawn?.[1]);
}

interface Compared {
  readonly report: LoadtestReport;
  readonly table: string;
  readonly standard: RunSummary;
  readonly other: RunSummary;
  readonly api: Map<string, FlakyApiStats>;
  /** The plain progress lines written during the run. */
  readonly progress: string;
}

async function compare(args: readonly string[]): Promise<Compared> {
  const targets = new Map<string, DemoTarget>();
  let progress = '';
  const report = await run(args, {
    onDemoTarget: (target, policy) => targets.set(policy, target),
    progress: new Progress('plain', { write: (text: string) => (progress += text) }),
  });
  const [standard, other] = report.runs.map((r) => r.summary);
  // The targets are closed after each run; their counters keep the final values.
  const api = new Map([...targets].map(([policy, t]) => [policy, t.api.stats()]));
  return {
    report,
    table: terminalReport(report),
    standard: standard!,
    other: other!,
    api,
    progress,
  };
}

/** The API saw every wire attempt that was not cut short (a timeout, a cancelled hedge). */
function expectAttemptsAccountedFor(summary: RunSummary, api: FlakyApiStats, table: string): void {
  const uncertain =
    (summary.attemptOutcomes.timeout ?? 0) + (summary.attemptOutcomes.hedge_cancelled ?? 0);
  expect(api.requests, table).toBeLessThanOrEqual(summary.attempts);
  expect(api.requests, table).toBeGreaterThanOrEqual(summary.attempts - uncertain);
}

describe('--compare standard,standard+hedging --profile tail', () => {
  it('reports the hedges sent and won, within the hedging budget, beside the p99 the slow 5 % make', async () => {
    const { report, table, standard, other, api, progress } = await compare([
      '--compare',
      'standard,standard+hedging',
      '--profile',
      'tail',
      '--rate',
      '100',
      '--calls',
      '400',
      '--seed',
      '4',
      '--time-factor',
      '0.3',
    ]);
    expect(report.runs.map((r) => r.summary.policy)).toEqual(['standard', 'standard+hedging']);
    expect(other.strategies).toEqual(['hedging']);
    expect(standard.strategies).toEqual([]);
    // More than 1 % of the first attempts are slow (seeded draws): standard's p99 is one.
    expect(standard.api!.slow, table).toBeGreaterThan(4);
    expect(standard.latencyMs.p99, table).toBeGreaterThanOrEqual(500);
    expect(standard.strategyEvents.hedge).toBe(0);

    const hedges = other.strategyEvents.hedge;
    expect(hedges, table).toBeGreaterThan(0);
    expect(other.strategyEvents.hedge_won, table).toBeGreaterThan(0);
    expect(other.strategyEvents.hedge_won).toBeLessThanOrEqual(hedges);
    const budget = defaultsOf(hedgingBudgetSchema);
    const allowed = budget.ratio * other.calls + budget.minPerSecond * (budget.windowMs / 1000);
    expect(hedges, table).toBeLessThanOrEqual(allowed);
    // Every hedge is a wire attempt; nothing else re-sent on this healthy API.
    expect(other.retries).toBe(0);
    expect(other.attempts).toBe(other.calls + hedges);
    expect(other.attemptOutcomes.hedge_cancelled ?? 0).toBe(other.strategyEvents.hedge_cancelled);
    // Not the latency it buys: on a loaded machine a stall moves a p99 or a mean of 400 calls
    // more than hedging does (the hedging strategy's own tests measure that). A hedge sent
    // after a few ms and answered in a few beats a first attempt that takes 500 ms: it won.
    // One hedgeEnd per call that announced a hedge (sent, or refused by the budget: a call may
    // be refused at the delay and hedge later), and at most one hedge sent per call (the
    // default maxHedgedAttempts).
    const { hedged_call: hedgedCalls, hedge_skipped: skipped } = other.strategyEvents;
    expect(hedgedCalls).toBeGreaterThanOrEqual(hedges);
    expect(hedgedCalls).toBeLessThanOrEqual(hedges + skipped);
    for (const summary of [standard, other]) {
      expect(summary.successRatio, table).toBe(1);
      expectAttemptsAccountedFor(summary, api.get(summary.policy)!, table);
    }

    expect(table).toMatch(/hedges sent \/ won\s+-\s+\d+ \/ \d+/);
    expect(table).toMatch(/hedges per call \(budget\)/);
    expect(table).toMatch(/API requests made slow/);
    expect(progress).toMatch(/\[standard\+hedging\] done .* hedges \d+/);
    expect(progress).not.toMatch(/\[standard\] done .* hedges/);
    // The chart series carry the hedges per second.
    const series = report.runs[1]!.series;
    const perSecond = series.strategiesPerSecond.hedges.reduce((a, b) => a + b, 0);
    expect(perSecond * (series.bucketMs / 1000)).toBeCloseTo(hedges, 6);
    // Four charts per policy, and the strategies per second.
    expect(await chartsDrawn(report, 'hedging')).toBe(10);
  }, 60_000);
});

describe('--compare standard,standard+fallback across an outage', () => {
  it('serves the last good answer for the calls the outage fails, and counts it', async () => {
    const { table, standard, other, api } = await compare([
      '--compare',
      'standard,standard+fallback',
      '--phases',
      'healthy:1s,outage:2s,healthy:1s',
      '--rate',
      '50',
      '--duration',
      '4s',
      '--seed',
      '5',
      '--time-factor',
      '0.1',
    ]);
    expect(other.strategies).toEqual(['fallback']);
    // The outage fails a third or more of standard's calls (503, or the breaker open).
    expect(standard.successRatio, table).toBeLessThan(0.8);
    expect(standard.strategyEvents.stale).toBe(0);
    const stale = other.strategyEvents.stale;
    expect(stale, table).toBeGreaterThan(0);
    expect(other.strategyEvents.handler).toBe(0);
    // Every call ended ok: with the API's own 200, or with a stale answer instead of a failure.
    const fromApi = api.get('standard+fallback')!.byStatus['200'] ?? 0;
    expect(other.succeeded, table).toBe(fromApi + stale);
    expect(other.successRatio, table).toBeGreaterThan(standard.successRatio);
    expect(table).toMatch(/fallbacks served: stale \/ handler\s+-\s+\d+ \/ 0/);
    for (const summary of [standard, other]) {
      expectAttemptsAccountedFor(summary, api.get(summary.policy)!, table);
    }
  }, 60_000);
});

describe('--compare standard,standard+adaptive against a service of fixed capacity', () => {
  it('keeps what is in flight near the capacity, and the latency of accepted calls near the unloaded one', async () => {
    const CAPACITY = 20; // workers of 200 ms: 100 requests per second
    const { report, table, standard, other, api } = await compare([
      '--compare',
      'standard,standard+adaptive',
      '--profile',
      JSON.stringify({ name: 'capacity', capacity: CAPACITY, serviceMs: 200 }),
      '--rate',
      '150',
      '--duration',
      '4s',
      '--seed',
      '6',
      '--time-factor',
      '0.3',
    ]);
    expect(other.strategies).toEqual(['adaptive']);
    expect(standard.adaptiveLimit).toBeUndefined();
    const limit = other.adaptiveLimit;
    expect(limit, table).toBeDefined();
    expect(limit!.changes).toBeGreaterThan(0);
    expect(limit!.final, table).toBeLessThanOrEqual(3 * CAPACITY);
    expect(limit!.final, table).toBeGreaterThanOrEqual(CAPACITY / 4);
    // Past the limit calls fail at once in the client; the API's queue stays short.
    expect(Object.keys(other.callOutcomes).sort()).toEqual(['200', 'concurrency_limited']);
    expect(api.get('standard+adaptive')!.capacity.peakQueued, table).toBeLessThan(
      api.get('standard')!.capacity.peakQueued,
    );
    expect(other.okLatencyMs.p99, table).toBeLessThan(standard.okLatencyMs.p99);
    expect(table).toMatch(/adaptive limit: final \(min–max\)\s+-\s+\d+ \(\d+–\d+\)/);
    expect(table).toMatch(/ok-call latency p50 \/ p99/);
    expect(table).toMatch(/API most in service \/ queued\s+20 \/ \d+\s+20 \/ \d+/);
    // The series of the limit, for the chart.
    const series = report.runs[1]!.series.adaptiveLimit!;
    expect(series.some((v) => v !== null)).toBe(true);
    expect(report.runs[0]!.series.adaptiveLimit).toBeUndefined();
    // From the start: before its first move the limit is where it started — at minLimit (1),
    // while the gradient measures the API's unloaded latency (then initialLimit, 20).
    expect(series[0]).toBe(1);
    // Four charts per policy, and the adaptive limit.
    expect(await chartsDrawn(report, 'adaptive')).toBe(10);
  }, 60_000);
});

describe('--compare standard,standard+throttle against an overloaded API', () => {
  it('refuses in the client a share of what the API would refuse: the API sees about twice what it accepts', async () => {
    const { table, standard, other, api } = await compare([
      '--compare',
      'standard,standard+throttle',
      '--profile',
      JSON.stringify({
        name: 'overload',
        capacity: 2,
        serviceMs: 50,
        queueLimit: 0,
        overloadStatus: 429,
      }),
      '--rate',
      '160',
      '--duration',
      '4s',
      '--seed',
      '7',
      '--time-factor',
      '0.3',
    ]);
    expect(other.strategies).toEqual(['throttle']);
    const throttled = other.strategyEvents.throttled;
    expect(throttled, table).toBeGreaterThan(0);
    expect(standard.strategyEvents.throttled).toBe(0);
    // A throttled attempt is never sent: the call ends rate_limited in the client.
    expect(other.callOutcomes.rate_limited ?? 0, table).toBeGreaterThan(0);
    expect(other.callOutcomes.rate_limited ?? 0).toBeLessThanOrEqual(throttled);
    const refusedStandard = api.get('standard')!.capacity.refused;
    const refusedThrottle = api.get('standard+throttle')!.capacity.refused;
    expect(refusedThrottle, table).toBeLessThan(refusedStandard * 0.75);
    expect(other.attempts, table).toBeLessThan(standard.attempts);
    // What the API saw per request it served: about k = 2 with the throttle (a little more
    // while the counts build up), the 4× overload and its retries without.
    const perServed = (stats: FlakyApiStats) => stats.requests / (stats.byStatus['200'] ?? 1);
    expect(perServed(api.get('standard+throttle')!), table).toBeLessThan(2.6);
    expect(perServed(api.get('standard')!), table).toBeGreaterThan(
      perServed(api.get('standard+throttle')!),
    );
    for (const summary of [standard, other]) {
      expectAttemptsAccountedFor(summary, api.get(summary.policy)!, table);
    }
    expect(table).toMatch(/attempts throttled in the client\s+-\s+\d+/);
    expect(table).toMatch(/API refused, overloaded\s+\d+\s+\d+/);
  }, 60_000);
});

describe('the strategy presets', () => {
  it('are policies of --compare, and their report files are named without a "+"', () => {
    const config = configFrom([
      '--compare',
      'standard+hedging,standard+fallback,standard+adaptive,standard+throttle',
      '--profile',
      'tail',
    ]);
    expect(config.reportName).toMatch(
      /-standard-hedging-standard-fallback-standard-adaptive-standard-throttle$/,
    );
  });

  it('name the strategies a client has, an --override included', () => {
    expect(policyStrategies('standard+adaptive', {})).toEqual(['adaptive']);
    expect(policyStrategies('standard', { hedging: {}, adaptiveThrottle: {} })).toEqual([
      'hedging',
      'throttle',
    ]);
    expect(policyStrategies('standard+fallback', { fallback: false })).toEqual([]);
    expect(policyStrategies('naive', { hedging: {} })).toEqual([]);
  });
});

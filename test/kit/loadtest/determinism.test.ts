import { describe, expect, it } from 'vitest';
import type { DemoTarget } from '../../../src/loadtest/target.js';
import { run } from './support.js';

/**
 * What must repeat, call for call, on the same seed: how many calls ended how, how many wire
 * attempts got which status, why calls were retried, and what the API itself logged and
 * injected. Not latencies, token-endpoint requests or breaker timings: those are wall-clock.
 */
async function faultsOf(args: readonly string[]) {
  const targets = new Map<string, DemoTarget>();
  const report = await run(args, {
    onDemoTarget: (target, policy) => targets.set(policy, target),
  });
  // The targets are closed after each run; their counters keep the final values.
  return report.runs.map(({ summary }) => ({
    policy: summary.policy,
    calls: summary.calls,
    skipped: summary.skipped,
    callOutcomes: summary.callOutcomes,
    attemptOutcomes: summary.attemptOutcomes,
    retriesByReason: summary.retriesByReason,
    api: summary.api,
    injected: targets.get(summary.policy)!.api.stats().injected,
  }));
}

describe('--seed makes the faults of a run repeat, call for call', () => {
  it('none and standard meet the same faults in two runs on a flaky API', async () => {
    const args = [
      '--compare',
      'none,standard',
      '--profile',
      // flaky, with more of each fault so that 300 calls meet a few dozen; about 5 % of the
      // attempts fail transiently, half the standard breaker's 10 %: whether it opens would
      // depend on which attempts share its (wall-clock) window, and a loaded machine once
      // made it open in one run of two at the 9 % this profile had.
      '{"name":"flakier","errorRate":0.03,"rateLimitRate":0.01,"unauthorizedRate":0.01,"resetRate":0.01,"retryAfterSeconds":0,"latencyMedianMs":2,"latencyP99Ms":20}',
      '--rate',
      '200',
      '--calls',
      '300',
      '--seed',
      '42',
      // Backoff from 200 ms; the attempt timeout keeps its 2 s floor (no stall-made timeouts).
      '--time-factor',
      '0.1',
    ];
    const first = await faultsOf(args);
    const second = await faultsOf(args);
    expect(second).toEqual(first);

    const [none, standard] = first;
    // Faults were met (so equality says something), and standard retried them.
    expect(none!.calls).toBe(300);
    expect(Object.keys(none!.callOutcomes).length).toBeGreaterThan(2);
    expect(none!.injected!.error + none!.injected!.rateLimited).toBeGreaterThan(5);
    expect(Object.values(standard!.retriesByReason).reduce((a, b) => a + b, 0)).toBeGreaterThan(5);
  });

  it('each attempt meets the phase of its schedule (start + retry delays), not of the clock', async () => {
    const args = [
      '--compare',
      'none,retry-no-budget',
      '--phases',
      'flaky:300ms,outage:400ms,flaky',
      '--rate',
      '200',
      '--duration',
      '1s',
      '--seed',
      '42',
      '--time-factor',
      '0.1',
    ];
    const first = await faultsOf(args);
    const second = await faultsOf(args);
    expect(second).toEqual(first);

    const [none, retry] = first;
    // Calls 60 to 139 are due in [300 ms, 700 ms): exactly they meet the outage.
    expect(none!.injected!.down).toBe(80);
    // Retries after a 200-600 ms backoff can outlast the outage.
    expect(retry!.injected!.down).toBeGreaterThan(80);
    expect(retry!.callOutcomes['200']).toBeGreaterThan(none!.callOutcomes['200']!);
  });

  it('faults injected by the chaos strategy (--override) repeat too: drawn per call and attempt', async () => {
    const args = [
      '--policy',
      'retry-no-budget',
      '--profile',
      'healthy',
      '--override',
      '{"chaos":{"serviceUnavailableRate":0.1,"rateLimitRate":0.05,"retryAfterSeconds":0}}',
      '--rate',
      '200',
      '--calls',
      '100',
      '--seed',
      '42',
      '--time-factor',
      '0.05',
    ];
    const first = await faultsOf(args);
    const second = await faultsOf(args);
    expect(second).toEqual(first);
    // Injected before the wire: attempts the API never saw, all of them retried.
    const [retry] = first;
    expect(retry!.attemptOutcomes['503']).toBeGreaterThan(3);
    expect(retry!.api!.byStatus).toEqual({ '200': retry!.api!.requests });
  });
});

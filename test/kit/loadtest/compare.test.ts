import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../packages/steadfast/src/config/defaults.js';
import { run } from './support.js';

describe('comparing policies on the same profile and seed', () => {
  it('standard beats no resilience on a flaky API, and its retries stay within the retry budget', async () => {
    const report = await run([
      '--compare',
      'none,standard',
      '--profile',
      'flaky',
      '--rate',
      '100',
      '--duration',
      '3s',
      '--seed',
      '11',
      // Attempt timeout 3 s: a CPU-starved CI machine must not turn stalls into timeouts
      // that trip the breaker and make this a test of the machine.
      '--time-factor',
      '0.3',
    ]);
    const [none, standard] = report.runs.map((r) => r.summary);

    expect(none!.policy).toBe('none');
    expect(standard!.policy).toBe('standard');
    expect(none!.calls).toBe(standard!.calls);
    expect(none!.successRatio).toBeLessThan(1);
    expect(
      standard!.successRatio,
      `standard ${JSON.stringify(standard!.callOutcomes)} vs none ${JSON.stringify(none!.callOutcomes)}`,
    ).toBeGreaterThan(none!.successRatio);
    expect(none!.attemptsPerCall).toBe(1);
    expect(standard!.attemptsPerCall).toBeGreaterThan(1);
    // The budget: retries ≤ floor × window + ratio × calls (the run is shorter than the window).
    const budget = DEFAULTS.retry.budget;
    const allowed =
      budget.minRetriesPerSecond * (budget.windowMs / 1000) + budget.ratio * standard!.calls;
    const transientRetries = standard!.retries - (standard!.retriesByReason['401'] ?? 0);
    expect(transientRetries).toBeLessThanOrEqual(allowed);
  });

  it('a retry budget caps amplification during an outage where retries without one multiply traffic', async () => {
    const report = await run([
      '--compare',
      'retry-no-budget,retry-budget',
      '--profile',
      'outage',
      '--rate',
      '100',
      '--calls',
      '200',
      '--seed',
      '5',
      '--time-factor',
      '0.01',
    ]);
    const [unbounded, budgeted] = report.runs.map((r) => r.summary);

    expect(unbounded!.successRatio).toBe(0);
    expect(budgeted!.successRatio).toBe(0);
    const budget = DEFAULTS.retry.budget;
    const allowed = budget.minRetriesPerSecond * (budget.windowMs / 1000) + budget.ratio * 200;
    // Without a budget, retries (up to 3 a call, until the deadline) blow through that bound.
    expect(unbounded!.retries).toBeGreaterThan(allowed);
    expect(budgeted!.retries).toBeLessThanOrEqual(allowed);
    expect(budgeted!.attemptsPerCall).toBeLessThan(unbounded!.attemptsPerCall);
    expect(budgeted!.callOutcomes.retry_budget_exhausted ?? 0).toBe(0); // 503s are returned as is
  });
});

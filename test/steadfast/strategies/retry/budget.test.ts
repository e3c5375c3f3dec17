import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../../../packages/steadfast/src/strategies/retry/budget.js';

/** A budget on a clock the test moves by hand. */
function budgetAt(ratio: number, minRetriesPerSecond: number, windowMs: number) {
  let now = 0;
  const budget = new RetryBudget(ratio, minRetriesPerSecond, windowMs, () => now);
  return {
    budget,
    advance(ms: number) {
      now += ms;
    },
    retriesGranted(attempts: number): number {
      let granted = 0;
      for (let i = 0; i < attempts; i++) if (budget.tryRetry()) granted++;
      return granted;
    },
  };
}

describe('retry budget', () => {
  it('grants the floor (minRetriesPerSecond × window) with no calls at all', () => {
    const { retriesGranted } = budgetAt(0.1, 2, 5000);
    expect(retriesGranted(100)).toBe(10);
  });

  it('grants ratio × calls on top of the floor', () => {
    const { budget, retriesGranted } = budgetAt(0.2, 0, 10_000);
    for (let i = 0; i < 50; i++) budget.recordCall();
    expect(retriesGranted(100)).toBe(10);
  });

  it('refills as retries leave the sliding window', () => {
    const { advance, retriesGranted } = budgetAt(0, 1, 3000);
    expect(retriesGranted(10)).toBe(3);
    advance(2000);
    expect(retriesGranted(10)).toBe(0);
    advance(1000);
    expect(retriesGranted(10)).toBe(3);
  });

  it('forgets calls older than the window', () => {
    const { budget, advance, retriesGranted } = budgetAt(0.5, 0, 2000);
    for (let i = 0; i < 10; i++) budget.recordCall();
    advance(2000);
    expect(retriesGranted(10)).toBe(0);
  });

  it('counts a call at the time it is given, when the caller has it already', () => {
    const { budget, advance, retriesGranted } = budgetAt(1, 0, 2000);
    advance(5000);
    budget.recordCall(5000);
    budget.recordCall(5000);
    expect(retriesGranted(10)).toBe(2);
  });

  it('grants nothing with a zero ratio and a zero floor', () => {
    const { budget, retriesGranted } = budgetAt(0, 0, 1000);
    for (let i = 0; i < 100; i++) budget.recordCall();
    expect(retriesGranted(5)).toBe(0);
  });
});

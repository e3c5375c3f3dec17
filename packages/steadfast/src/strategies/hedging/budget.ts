import { RetryBudget } from '../retry/budget.js';

/**
 * Share of `ratio` kept for calls still unanswered when they ask again. Half: against the tail
 * test's API, a quarter and a half gave the same p99, the half with a fifth fewer hedges (the
 * ones it leaves out would mostly have lost to the first attempt).
 */
const RESERVE_SHARE = 0.5;

/**
 * The hedging budget: the retry budget's model (strategies/retry/budget.ts: in a sliding
 * window, at most `minPerSecond` × window + `ratio` × calls), in two parts that add up to it.
 *
 * A hedge due at the delay takes from the first part — half of `ratio`, and the whole
 * floor. A call the budget refused asks again at twice the wait; by then the calls that
 * were only a little slow have answered, and what still waits is the tail hedging is for: it
 * may also take from the reserve, the other half of `ratio`. Without the split, when hedges
 * are wanted about as often as the budget allows (the p90 delay against a 10 % budget), the
 * first calls past the delay would take every hedge, and a call that stays slow would find
 * the budget spent each time it asks.
 */
export class HedgingBudget {
  readonly #atDelay: RetryBudget;
  readonly #reserve: RetryBudget;

  constructor(ratio: number, minPerSecond: number, windowMs: number) {
    this.#atDelay = new RetryBudget(ratio * (1 - RESERVE_SHARE), minPerSecond, windowMs);
    this.#reserve = new RetryBudget(ratio * RESERVE_SHARE, 0, windowMs);
  }

  /** Record a call (a deposit in both parts); `at` is when it started. */
  recordCall(at: number): void {
    this.#atDelay.recordCall(at);
    this.#reserve.recordCall(at);
  }

  /**
   * Take one hedge: the part it came from, or `undefined` when it is spent. `again`: the call
   * asked before and was refused, so it may use the reserve.
   */
  take(again: boolean): RetryBudget | undefined {
    if (again && this.#reserve.tryRetry()) return this.#reserve;
    return this.#atDelay.tryRetry() ? this.#atDelay : undefined;
  }
}

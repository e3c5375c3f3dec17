/**
 * A retry budget: in any sliding window, retries may be at most
 * `minRetriesPerSecond × window + ratio × calls`. A failing downstream then sees its traffic
 * grow by at most `ratio` (plus the floor) instead of multiplied by `maxRetries + 1`.
 * (The model is Finagle's RetryBudget and gRPC's retry throttling.)
 *
 * Counts live in one-second buckets of a ring, so a check is a short loop with no allocation.
 */
export class RetryBudget {
  readonly #calls: Float64Array;
  readonly #retries: Float64Array;
  readonly #bucketMs: number;
  #currentBucket = 0;
  readonly #floor: number;

  constructor(
    private readonly ratio: number,
    minRetriesPerSecond: number,
    windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    const buckets = Math.max(1, Math.round(windowMs / 1000));
    this.#bucketMs = windowMs / buckets;
    this.#calls = new Float64Array(buckets);
    this.#retries = new Float64Array(buckets);
    this.#floor = minRetriesPerSecond * (windowMs / 1000);
    this.#currentBucket = Math.floor(this.now() / this.#bucketMs);
  }

  /** Record a logical call (a deposit); `at` is when it started, if the caller has the time already. */
  recordCall(at?: number): void {
    this.#calls[this.#rotate(at)]! += 1;
  }

  /** Take one retry from the budget; false when it is spent. */
  tryRetry(): boolean {
    const index = this.#rotate();
    let calls = 0;
    let retries = 0;
    for (let i = 0; i < this.#calls.length; i++) {
      calls += this.#calls[i]!;
      retries += this.#retries[i]!;
    }
    if (retries + 1 > this.#floor + this.ratio * calls) return false;
    this.#retries[index]! += 1;
    return true;
  }

  /** Give back a retry `tryRetry()` granted but that was not made (a hook cancelled it). */
  refund(): void {
    const index = this.#rotate();
    if (this.#retries[index]! > 0) this.#retries[index]! -= 1;
  }

  /** Advance the ring to now, clearing buckets that left the window; returns the current index. */
  #rotate(at: number = this.now()): number {
    const bucket = Math.floor(at / this.#bucketMs);
    const size = this.#calls.length;
    const elapsed = bucket - this.#currentBucket;
    if (elapsed > 0) {
      for (let i = 1; i <= Math.min(elapsed, size); i++) {
        const index = (this.#currentBucket + i) % size;
        this.#calls[index] = 0;
        this.#retries[index] = 0;
      }
      this.#currentBucket = bucket;
    }
    return bucket % size;
  }
}

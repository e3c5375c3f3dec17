/**
 * Requests and accepts over a sliding window counted in whole buckets: the sums cover the
 * current bucket and the `buckets - 1` before it, and the oldest goes as a whole when a new
 * one starts. Two small arrays per origin, no allocation per attempt.
 */
export class ThrottleWindow {
  readonly #requests: Float64Array;
  readonly #accepts: Float64Array;
  readonly #bucketMs: number;
  #head = 0;
  #headStart: number;
  #requestSum = 0;
  #acceptSum = 0;
  /** When it last counted an attempt (`performance.now()`): the oldest window goes first. */
  usedAt: number;

  constructor(windowMs: number, buckets: number, now: number) {
    this.#requests = new Float64Array(buckets);
    this.#accepts = new Float64Array(buckets);
    this.#bucketMs = windowMs / buckets;
    this.#headStart = now;
    this.usedAt = now;
  }

  /** Requests in the window (what was sent and what was refused here). */
  get requests(): number {
    return this.#requestSum;
  }

  /** Attempts the backend did not refuse, in the window. */
  get accepts(): number {
    return this.#acceptSum;
  }

  /** Count one attempt: sent and `accepted` or not, or refused here (`accepted` false). */
  count(now: number, accepted: boolean): void {
    this.#advance(now);
    this.usedAt = now;
    this.#requests[this.#head]! += 1;
    this.#requestSum += 1;
    if (accepted) {
      this.#accepts[this.#head]! += 1;
      this.#acceptSum += 1;
    }
  }

  /** The SRE book's rejection probability: max(0, (requests − k × accepts) / (requests + 1)). */
  rejectProbability(now: number, k: number): number {
    this.#advance(now);
    const requests = this.#requestSum;
    return Math.max(0, (requests - k * this.#acceptSum) / (requests + 1));
  }

  /** True when nothing is counted any more: forgetting it loses nothing. */
  isEmpty(now: number): boolean {
    this.#advance(now);
    return this.#requestSum === 0;
  }

  #advance(now: number): void {
    const elapsed = now - this.#headStart;
    if (elapsed < this.#bucketMs) return;
    const size = this.#requests.length;
    const steps = Math.floor(elapsed / this.#bucketMs);
    if (steps >= size) {
      this.#requests.fill(0);
      this.#accepts.fill(0);
      this.#requestSum = 0;
      this.#acceptSum = 0;
    } else {
      for (let i = 0; i < steps; i++) {
        this.#head = (this.#head + 1) % size;
        this.#requestSum -= this.#requests[this.#head]!;
        this.#acceptSum -= this.#accepts[this.#head]!;
        this.#requests[this.#head] = 0;
        this.#accepts[this.#head] = 0;
      }
    }
    this.#headStart += steps * this.#bucketMs;
  }
}

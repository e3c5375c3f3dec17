/**
 * The three ways the in-process rate limiter counts permits (Polly's token bucket, sliding
 * window and fixed window). Each is a small clock-driven counter: it answers when `permits`
 * could be taken and takes them; the limiter (index.ts) does the waiting. Times are ms on
 * one monotonic clock (`performance.now()`), passed in so tests can drive them.
 */
export interface PermitCounter {
  /** The most permits one take can ever get: a larger weight never fits. */
  readonly capacity: number;
  /** The earliest time ≥ `now` at which `permits` (≤ capacity) can be taken, if nobody else takes any. */
  availableAt(now: number, permits: number): number;
  /** Take `permits` at `now` (when `availableAt(now, permits) <= now`). */
  take(now: number, permits: number): void;
  /** True when the counter is as it would be new: a partition in this state can be dropped. */
  idle(now: number): boolean;
}

/** `limit` permits per `intervalMs` trickle into a bucket holding at most `capacity`; it starts full. */
export class TokenBucket implements PermitCounter {
  readonly #perMs: number;
  #tokens: number;
  #at = Number.NEGATIVE_INFINITY;

  constructor(
    limit: number,
    intervalMs: number,
    readonly capacity: number,
  ) {
    this.#perMs = limit / intervalMs;
    this.#tokens = capacity;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#at) * this.#perMs);
      this.#at = now;
    }
  }

  availableAt(now: number, permits: number): number {
    this.#refill(now);
    const missing = permits - this.#tokens;
    // A hair of slack so float rounding never leaves a waiter one tick short.
    return missing <= 1e-9 ? now : now + missing / this.#perMs;
  }

  /**
   * Take `permits`; the bucket may go into debt: a reservation for later (the next
   * `availableAt` counts it, so reservations queue up first come, first served).
   */
  take(now: number, permits: number): void {
    this.#refill(now);
    this.#tokens -= permits;
  }

  /** Give back `permits` a reservation did not use. */
  refund(now: number, permits: number): void {
    this.#refill(now);
    this.#tokens = Math.min(this.capacity, this.#tokens + permits);
  }

  idle(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.capacity;
  }
}

/** At most `limit` permits per window of `intervalMs`, windows starting at the first permit. */
export class FixedWindow implements PermitCounter {
  #start = Number.NEGATIVE_INFINITY;
  #used = 0;

  constructor(
    readonly capacity: number,
    private readonly intervalMs: number,
  ) {}

  #roll(now: number): void {
    if (now < this.#start + this.intervalMs) return;
    // The window `now` falls in, keeping the windows aligned to the first one.
    this.#start = Number.isFinite(this.#start)
      ? this.#start + Math.floor((now - this.#start) / this.intervalMs) * this.intervalMs
      : now;
    this.#used = 0;
  }

  availableAt(now: number, permits: number): number {
    this.#roll(now);
    return this.#used + permits <= this.capacity ? now : this.#start + this.intervalMs;
  }

  take(now: number, permits: number): void {
    this.#roll(now);
    this.#used += permits;
  }

  idle(now: number): boolean {
    this.#roll(now);
    return this.#used === 0;
  }
}

/**
 * At most `limit` permits in any `intervalMs`, counted in `segments` slices: a permit counts
 * until the slice it was taken in has left the window.
 */
export class SlidingWindow implements PermitCounter {
  readonly #segmentMs: number;
  /** Ring of slices: which slice number each cell holds, and its permits. */
  readonly #ids: number[];
  readonly #counts: number[];

  constructor(
    readonly capacity: number,
    intervalMs: number,
    private readonly segments: number,
  ) {
    this.#segmentMs = intervalMs / segments;
    this.#ids = new Array<number>(segments).fill(Number.NEGATIVE_INFINITY);
    this.#counts = new Array<number>(segments).fill(0);
  }

  #slice(now: number): number {
    return Math.floor(now / this.#segmentMs);
  }

  /** Permits of slices still in the window at slice `current`. */
  #used(current: number): number {
    let used = 0;
    for (let i = 0; i < this.segments; i++) {
      if (this.#ids[i]! > current - this.segments) used += this.#counts[i]!;
    }
    return used;
  }

  availableAt(now: number, permits: number): number {
    const current = this.#slice(now);
    let used = this.#used(current);
    if (used + permits <= this.capacity) return now;
    // Oldest slice first: when it leaves the window its permits are free again.
    for (let id = current - this.segments + 1; id <= current; id++) {
      const cell = ((id % this.segments) + this.segments) % this.segments;
      if (this.#ids[cell] === id) used -= this.#counts[cell]!;
      if (used + permits <= this.capacity) return (id + this.segments) * this.#segmentMs;
    }
    return (current + this.segments) * this.#segmentMs;
  }

  take(now: number, permits: number): void {
    const id = this.#slice(now);
    const cell = ((id % this.segments) + this.segments) % this.segments;
    if (this.#ids[cell] !== id) {
      this.#ids[cell] = id;
      this.#counts[cell] = 0;
    }
    this.#counts[cell] = this.#counts[cell]! + permits;
  }

  idle(now: number): boolean {
    return this.#used(this.#slice(now)) === 0;
  }
}

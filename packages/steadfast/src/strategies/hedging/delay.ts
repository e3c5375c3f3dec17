/** What the learnt delay is made of (`hedging.learnedDelay`, resolved). */
export interface LearnedDelaySettings {
  readonly quantile: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly samples: number;
  readonly minSamples: number;
  readonly maxOrigins: number;
}

/** One origin's recent attempt durations: a ring, and the delay last computed from it. */
class OriginDurations {
  readonly ring: Float64Array;
  /** Samples in the ring (up to its length). */
  count = 0;
  /** Where the next sample goes. */
  next = 0;
  /** Samples recorded since the delay was last computed. */
  fresh = 0;
  /** The delay in force, ms (`maxMs` until `minSamples` are in). */
  delayMs: number;
  /** When a sample last came (`performance.now()`): the oldest goes first when one must. */
  usedAt = 0;

  constructor(size: number, initialMs: number) {
    this.ring = new Float64Array(size);
    this.delayMs = initialMs;
  }
}

/**
 * The hedge delay of each origin, learnt from its recent attempt durations: the `quantile`
 * of the last `samples` of them, held within [`minMs`, `maxMs`]; `maxMs` until an origin has
 * `minSamples`.
 *
 * Cheap per call: reading a delay is a map lookup; recording a sample writes one slot of a
 * ring. The quantile is recomputed only every `samples` ÷ 16 new samples, by a selection in
 * a copy of the ring (O(n) on average: a sort there cost ~0.8 µs per call amortised,
 * bench/RESULTS.md), and
 * memory is bounded: `samples` × 8 bytes per origin, at most `maxOrigins` origins (the least
 * recently used one is dropped to make room).
 *
 * Censoring: an attempt cancelled because another answered first ran at least as long as
 * it ran. {@link recordCensored} keeps such a lower bound only when it is past the delay in
 * force — then it is above the quantile whatever its true length, which is all a quantile
 * needs to know — and drops it otherwise (its side of the quantile is unknown). Recording it
 * as a plain duration instead would count every slow primary a hedge beat as fast, and
 * hedging would pull its own delay down.
 */
export class LearnedDelay {
  readonly #origins = new Map<string, OriginDurations>();
  /** Scratch space for the quantile: one per instance, JavaScript being single-threaded. */
  readonly #scratch: Float64Array;
  readonly #every: number;

  constructor(private readonly settings: LearnedDelaySettings) {
    this.#scratch = new Float64Array(settings.samples);
    this.#every = Math.max(1, Math.floor(settings.samples / 16));
  }

  /** The hedge delay of `origin` now, ms. */
  delayFor(origin: string): number {
    const entry = this.#origins.get(origin);
    return entry === undefined ? this.settings.maxMs : entry.delayMs;
  }

  /** An attempt to `origin` ended at `at` (`performance.now()`) after `durationMs`. */
  record(origin: string, durationMs: number, at: number): void {
    const entry = this.#origins.get(origin) ?? this.#create(origin);
    entry.usedAt = at;
    const ring = entry.ring;
    ring[entry.next] = durationMs;
    entry.next = entry.next + 1 === ring.length ? 0 : entry.next + 1;
    if (entry.count < ring.length) entry.count++;
    entry.fresh++;
    const { minSamples } = this.settings;
    if (entry.count >= minSamples && (entry.fresh >= this.#every || entry.count === minSamples))
      this.#compute(entry);
  }

  /**
   * An attempt to `origin` was cancelled after `elapsedMs`: its duration is at least that.
   * Kept only when that is past the origin's delay in force (see the class comment).
   */
  recordCensored(origin: string, elapsedMs: number, at: number): void {
    const entry = this.#origins.get(origin);
    const delayMs = entry === undefined ? this.settings.maxMs : entry.delayMs;
    if (elapsedMs >= delayMs) this.record(origin, elapsedMs, at);
  }

  /** Origins whose durations are kept now. */
  get size(): number {
    return this.#origins.size;
  }

  #compute(entry: OriginDurations): void {
    entry.fresh = 0;
    const n = entry.count;
    const scratch = this.#scratch;
    scratch.set(n === entry.ring.length ? entry.ring : entry.ring.subarray(0, n));
    const { quantile, minMs, maxMs } = this.settings;
    const value = selectKth(scratch, n, Math.min(n - 1, Math.ceil(quantile * n) - 1));
    entry.delayMs = Math.min(Math.max(value, minMs), maxMs);
  }

  #create(origin: string): OriginDurations {
    if (this.#origins.size >= this.settings.maxOrigins) this.#evictLeastRecentlyUsed();
    const entry = new OriginDurations(this.settings.samples, this.settings.maxMs);
    this.#origins.set(origin, entry);
    return entry;
  }

  #evictLeastRecentlyUsed(): void {
    let oldest: string | undefined;
    let oldestAt = Number.POSITIVE_INFINITY;
    for (const [origin, entry] of this.#origins) {
      if (entry.usedAt < oldestAt) {
        oldest = origin;
        oldestAt = entry.usedAt;
      }
    }
    if (oldest !== undefined) this.#origins.delete(oldest);
  }
}

/**
 * The `k`-th smallest (0-based) of `values[0..n)`, which it reorders: Wirth's selection,
 * O(n) on average, no allocation. Equal values (a ring of identical durations) end it fast.
 */
export function selectKth(values: Float64Array, n: number, k: number): number {
  let low = 0;
  let high = n - 1;
  while (low < high) {
    const pivot = values[k]!;
    let i = low;
    let j = high;
    do {
      while (values[i]! < pivot) i++;
      while (pivot < values[j]!) j--;
      if (i <= j) {
        const swapped = values[i]!;
        values[i] = values[j]!;
        values[j] = swapped;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) low = i;
    if (k < i) high = j;
  }
  return values[k]!;
}

/**
 * The kit's one definition of a percentile and a median: the load-test report, the
 * benchmarks and the tests read their figures through these two functions, so a "p99" means
 * the same thing wherever it is printed.
 */

/**
 * The `p`-th percentile (0 to 100) of values sorted ascending, by nearest rank: the smallest
 * value with at least `p` % of the values at or below it. No interpolation, so the result is
 * always a measured value. `NaN` for no values.
 *
 * @example percentile([1, 2, 3, 4], 50) // => 2
 * @example percentile(Float64Array.from(latencies).sort(), 99)
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be 0 to 100, got ${p}`);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/**
 * The median of values in any order (they are not modified): the middle value, or the mean
 * of the two middle values for an even count. `NaN` for no values.
 *
 * @example median([3, 1, 2]) // => 2
 * @example median([4, 1, 3, 2]) // => 2.5
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

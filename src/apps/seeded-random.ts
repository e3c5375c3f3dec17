import type { RandomSource } from 'steadfast';

/**
 * A log-normal draw with the given median and 99th percentile: most values near the median,
 * a long tail up to about p99. Returns the median when `p99 <= median`.
 */
export function logNormal(random: RandomSource, median: number, p99: number): number {
  if (median <= 0) return 0;
  if (p99 <= median) return median;
  const sigma = Math.log(p99 / median) / 2.326_347_874; // z of the 99th percentile
  // Box-Muller; 1 - u keeps the log argument away from 0.
  const u = 1 - random();
  const v = random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return median * Math.exp(sigma * z);
}

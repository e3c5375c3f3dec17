import type { RandomSource } from '../pipeline/seeded-random.js';

export { type RandomSource, seededRandom } from '../pipeline/seeded-random.js';

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

/**
 * A 32-bit seed derived from `parts` (FNV-1a over their text, then the murmur3 finalizer):
 * the same parts give the same seed, different parts almost surely a different one.
 *
 * @example seededRandom(hashSeed(42, 'call-17', 0)); // the draws of call 17's first attempt
 */
export function hashSeed(...parts: readonly (string | number)[]): number {
  let hash = 0x811c9dc5;
  const text = parts.join('\u0000');
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** A source of uniform numbers in [0, 1), reproducible from its seed. */
export type RandomSource = () => number;

/**
 * A small, fast, seedable PRNG (mulberry32, 32-bit state). Not for cryptography: it makes
 * jitter, chaos and fault runs repeatable, so the same seed gives the same sequence.
 *
 * @param seed any integer; default: a random one.
 * @example const random = seededRandom(42); random(); // => 0.6011037519201636
 */
export function seededRandom(seed: number = Math.floor(Math.random() * 2 ** 32)): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
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

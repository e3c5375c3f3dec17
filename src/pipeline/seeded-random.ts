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

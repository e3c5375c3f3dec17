import { describe, expect, it } from 'vitest';
import { hashSeed, seededRandom } from '../../../packages/steadfast/src/pipeline/seeded-random.js';

const draws = (seed: number, n: number) => Array.from({ length: n }, seededRandom(seed));

describe('seeded random numbers', () => {
  it('repeat the same sequence for the same seed', () => {
    expect(draws(42, 5)).toEqual(draws(42, 5));
    expect(draws(42, 5)).not.toEqual(draws(43, 5));
  });

  it('start with the documented draw', () => {
    expect(seededRandom(42)()).toBe(0.6011037519201636);
  });

  it('stay in [0, 1) and spread over it', () => {
    const values = draws(7, 10_000);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    const tenths = new Set(values.map((v) => Math.floor(v * 10)));
    expect(tenths.size).toBe(10);
  });

  it('hash the same parts to the same 32-bit seed, and other parts to another', () => {
    expect(hashSeed(42, 'call-17', 0)).toBe(hashSeed(42, 'call-17', 0));
    expect(hashSeed(42, 'call-17', 0)).not.toBe(hashSeed(42, 'call-17', 1));
    // Parts are separated, so moving a boundary changes the seed.
    expect(hashSeed('ab', 'c')).not.toBe(hashSeed('a', 'bc'));
    const seed = hashSeed('x');
    expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32).toBe(true);
  });
});

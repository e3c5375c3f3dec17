import { describe, expect, it } from 'vitest';
import { median, percentile } from '../../../src/loadtest/percentile.js';

describe('percentile', () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it('is the smallest value with at least p % of the values at or below it', () => {
    expect(percentile(ten, 50)).toBe(5);
    expect(percentile(ten, 51)).toBe(6);
    expect(percentile(ten, 90)).toBe(9);
    expect(percentile(ten, 99)).toBe(10);
  });

  it('is the smallest value at 0 and the largest at 100', () => {
    expect(percentile(ten, 0)).toBe(1);
    expect(percentile(ten, 100)).toBe(10);
  });

  it('always answers a measured value, never one between two', () => {
    expect(percentile([10, 20], 50)).toBe(10);
    expect(percentile([10, 20], 75)).toBe(20);
  });

  it('reads a typed array sorted by its own sort', () => {
    expect(percentile(Float64Array.from([30, 10, 20]).sort(), 50)).toBe(20);
  });

  it('is NaN for no values', () => {
    expect(percentile([], 50)).toBeNaN();
  });

  it('refuses a p outside 0 to 100, so a fraction cannot pass for a percentage', () => {
    expect(() => percentile(ten, 101)).toThrow(RangeError);
    expect(() => percentile(ten, -1)).toThrow(/p must be 0 to 100, got -1/);
    expect(() => percentile(ten, Number.NaN)).toThrow(RangeError);
  });
});

describe('median', () => {
  it('is the middle value of an odd count, in any order', () => {
    expect(median([3, 1, 2])).toBe(2);
  });

  it('is the mean of the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('leaves its input as it was', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('is NaN for no values', () => {
    expect(median([])).toBeNaN();
  });
});

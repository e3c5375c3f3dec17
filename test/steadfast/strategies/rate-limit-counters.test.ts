import { describe, expect, it } from 'vitest';
import {
  FixedWindow,
  SlidingWindow,
  TokenBucket,
} from '../../../packages/steadfast/src/strategies/rate-limit/counters.js';

/** Take one permit at each time of `times` when it is available; how many were taken. */
function takeAll(counter: TokenBucket | FixedWindow | SlidingWindow, times: number[]): number {
  let taken = 0;
  for (const t of times) {
    if (counter.availableAt(t, 1) <= t) {
      counter.take(t, 1);
      taken++;
    }
  }
  return taken;
}

/** Every ms from `from` to `to`, excluded. */
const everyMs = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('token bucket', () => {
  it('starts full, refills `limit` per interval, never above its capacity', () => {
    const bucket = new TokenBucket(10, 1000, 5);
    expect(takeAll(bucket, [0, 0, 0, 0, 0, 0])).toBe(5); // the burst
    expect(bucket.availableAt(0, 1)).toBeCloseTo(100); // one token per 100 ms
    expect(bucket.availableAt(0, 3)).toBeCloseTo(300);
    // A second of calls every ms after the burst: 10 more permits.
    expect(takeAll(bucket, everyMs(1, 1001))).toBe(10);
    expect(bucket.idle(1000 + 10_000)).toBe(true);
    expect(bucket.availableAt(20_000, 5)).toBe(20_000); // a quiet period refills to 5, not more
    expect(bucket.availableAt(20_000, 6)).toBeGreaterThan(20_000);
  });

  it('handles fractional rates (0.5 per second)', () => {
    const bucket = new TokenBucket(0.5, 1000, 1);
    bucket.take(0, 1);
    expect(bucket.availableAt(0, 1)).toBeCloseTo(2000);
  });
});

describe('fixed window', () => {
  it('allows `limit` per window from the first permit on, windows aligned to it', () => {
    const window = new FixedWindow(3, 1000);
    expect(takeAll(window, [500, 500, 600, 700])).toBe(3);
    expect(window.availableAt(700, 1)).toBe(1500); // the next window starts at 500 + 1000
    expect(takeAll(window, [1500, 1500, 1500, 1500])).toBe(3);
    expect(window.availableAt(2600, 1)).toBe(2600); // 2500–3500 is a fresh window
    expect(window.availableAt(2600, 4)).toBe(3500);
  });
});

describe('sliding window', () => {
  it('never lets more than `limit` through in any interval', () => {
    const window = new SlidingWindow(20, 1000, 10);
    const taken: number[] = [];
    for (const t of everyMs(0, 5000)) {
      if (window.availableAt(t, 1) <= t) {
        window.take(t, 1);
        taken.push(t);
      }
    }
    // Every 1 s window (any start) holds at most 20.
    for (let start = 0; start < 4000; start += 7) {
      expect(taken.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(20);
    }
    expect(taken.length).toBeGreaterThanOrEqual(95); // ≈ 20 per second over 5 s
  });

  it('says when the oldest segment frees enough permits', () => {
    const window = new SlidingWindow(4, 1000, 4); // 250 ms segments
    window.take(0, 2);
    window.take(300, 2);
    expect(window.availableAt(400, 1)).toBe(1000); // the 0–250 segment leaves at 1000
    expect(window.availableAt(400, 3)).toBe(1250); // 250–500 leaves at 1250
    expect(window.idle(2000)).toBe(true);
  });
});

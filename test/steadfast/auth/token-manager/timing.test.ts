import { describe, expect, it } from 'vitest';
import { CLIENT_CREDENTIALS_DEFAULTS as D } from '../../../../packages/steadfast/src/auth/options.js';
import { refreshTiming } from '../../../../packages/steadfast/src/auth/token-manager/timing.js';

const defaults = {
  hardSkewMs: D.hardSkewMs,
  hardSkewRatio: D.hardSkewRatio,
  softWindowRatio: D.softWindowRatio,
  minSoftWindowMs: D.minSoftWindowMs,
  maxSoftWindowMs: D.maxSoftWindowMs,
};

describe('refresh timing (the table in docs/tokens.md)', () => {
  it.each([
    // lifetime, hard skew, soft window
    [3_600_000, 30_000, 600_000], // 1 h: 20 % = 12 min, clamped to 10 min
    [300_000, 30_000, 60_000], // 5 min: 20 % = 1 min
    [60_000, 6_000, 27_000], // 60 s: 1-min floor, capped at half of the 54 s left
    [12_000, 1_200, 5_400], // 12 s: the test suite's short tokens
  ])('a token of %i ms: hard skew %i ms, soft window %i ms', (lifetime, hardSkew, softWindow) => {
    const timing = refreshTiming(lifetime, defaults);
    expect(timing.hardSkewMs).toBeCloseTo(hardSkew);
    expect(timing.softWindowMs).toBeCloseTo(softWindow);
  });

  it('always leaves a fresh period before the soft window opens', () => {
    for (const lifetime of [1_000, 10_000, 100_000, 1_000_000, 10_000_000]) {
      const { hardSkewMs, softWindowMs } = refreshTiming(lifetime, defaults);
      expect(lifetime - hardSkewMs - softWindowMs).toBeGreaterThanOrEqual(softWindowMs);
    }
  });
});

import { describe, expect, it } from 'vitest';
import {
  type BackoffSettings,
  backoffDelay,
} from '../../../../packages/steadfast/src/strategies/retry/backoff.js';

const settings = (overrides: Partial<BackoffSettings>): BackoffSettings => ({
  kind: 'exponential',
  jitter: false,
  baseDelayMs: 100,
  maxDelayMs: 10_000,
  random: () => 0.5,
  ...overrides,
});
const delays = (s: BackoffSettings, retries: number): number[] => {
  const out: number[] = [];
  let previous = 0;
  for (let retry = 1; retry <= retries; retry++) {
    previous = backoffDelay(s, retry, previous);
    out.push(previous);
  }
  return out;
};

describe('backoff delay', () => {
  it('is the base delay every time when constant', () => {
    expect(delays(settings({ kind: 'constant' }), 4)).toEqual([100, 100, 100, 100]);
  });

  it('grows by the base delay per retry when linear', () => {
    expect(delays(settings({ kind: 'linear' }), 4)).toEqual([100, 200, 300, 400]);
  });

  it('doubles per retry when exponential', () => {
    expect(delays(settings({ kind: 'exponential' }), 5)).toEqual([100, 200, 400, 800, 1600]);
  });

  it('never exceeds maxDelayMs, whatever the kind', () => {
    expect(delays(settings({ kind: 'exponential', maxDelayMs: 500 }), 6)).toEqual([
      100, 200, 400, 500, 500, 500,
    ]);
    expect(delays(settings({ kind: 'linear', maxDelayMs: 250 }), 4)).toEqual([100, 200, 250, 250]);
    expect(
      delays(settings({ kind: 'exponential', jitter: true, random: () => 0.999 }), 12).every(
        (d) => d <= 10_000,
      ),
    ).toBe(true);
  });

  it('spreads constant and linear delays by ±25 % with jitter', () => {
    const low = settings({ kind: 'linear', jitter: true, random: () => 0 });
    const high = settings({ kind: 'linear', jitter: true, random: () => 1 });
    expect(backoffDelay(low, 2, 0)).toBe(150);
    expect(backoffDelay(high, 2, 0)).toBe(250);
    expect(backoffDelay(settings({ kind: 'constant', jitter: true }), 3, 0)).toBe(100);
  });

  it('draws a decorrelated exponential delay between the base and three times the previous one', () => {
    const at = (random: number, previous: number) =>
      backoffDelay(settings({ jitter: true, random: () => random }), 3, previous);
    expect(at(0, 400)).toBe(100);
    expect(at(1, 400)).toBe(1200);
    expect(at(0.5, 400)).toBe(650);
    // The first retry has no previous delay: the draw is between base and 3 × base.
    expect(at(1, 0)).toBe(300);
  });
});

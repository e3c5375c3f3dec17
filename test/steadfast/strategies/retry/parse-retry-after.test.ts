import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../../../packages/steadfast/src/strategies/retry/retry-after.js';

const NOW = Date.parse('2026-12-04T12:00:00Z');

describe('parsing Retry-After', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('7', NOW)).toBe(7000);
    expect(parseRetryAfter(' 120 ', NOW)).toBe(120_000);
  });

  it('reads an HTTP-date as the time left until it', () => {
    expect(parseRetryAfter('Fri, 04 Dec 2026 12:00:30 GMT', NOW)).toBe(30_000);
  });

  it('waits zero for an HTTP-date in the past', () => {
    expect(parseRetryAfter('Fri, 04 Dec 2026 11:59:00 GMT', NOW)).toBe(0);
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['3', '60'], NOW)).toBe(3000);
  });

  it('is undefined when absent, empty or unreadable', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter([], NOW)).toBeUndefined();
    expect(parseRetryAfter('  ', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('-5', NOW)).toBeUndefined();
  });

  it('does not read a fraction of seconds as a date', () => {
    expect(parseRetryAfter('1.5', NOW)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { cooldownSignal } from '../../../packages/steadfast/src/strategies/cooldown/signals.js';

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);

describe('cooldown signals', () => {
  it('reads Retry-After on 429 and 503 only', () => {
    expect(cooldownSignal(429, { 'retry-after': '3' }, NOW)).toEqual({
      ms: 3000,
      source: 'retry_after',
    });
    expect(cooldownSignal(503, { 'retry-after': new Date(NOW + 5000).toUTCString() }, NOW)).toEqual(
      { ms: 5000, source: 'retry_after' },
    );
    expect(cooldownSignal(500, { 'retry-after': '3' }, NOW)).toBeUndefined();
    expect(cooldownSignal(200, { 'retry-after': '3' }, NOW)).toBeUndefined();
    expect(cooldownSignal(429, { 'retry-after': '0' }, NOW)).toBeUndefined();
    expect(cooldownSignal(429, { 'retry-after': '-1' }, NOW)).toBeUndefined();
    expect(cooldownSignal(429, {}, NOW)).toBeUndefined();
  });

  it('reads the structured RateLimit header of the current draft, any status', () => {
    expect(cooldownSignal(200, { ratelimit: '"default";r=0;t=30' }, NOW)).toEqual({
      ms: 30_000,
      source: 'ratelimit',
    });
    // Two policies: only the exhausted one pauses.
    expect(cooldownSignal(200, { ratelimit: '"burst";r=5;t=1, "daily";r=0;t=600' }, NOW)).toEqual({
      ms: 600_000,
      source: 'ratelimit',
    });
    expect(cooldownSignal(200, { ratelimit: '"default";r=3;t=30' }, NOW)).toBeUndefined();
    // No t: the named policy's window in RateLimit-Policy bounds the wait.
    expect(
      cooldownSignal(
        429,
        {
          ratelimit: '"hourly";r=0',
          'ratelimit-policy': '"burst";q=10;w=1, "hourly";q=1000;w=3600',
        },
        NOW,
      ),
    ).toEqual({ ms: 3_600_000, source: 'ratelimit' });
    expect(cooldownSignal(200, { ratelimit: '"default";r=0' }, NOW)).toBeUndefined();
  });

  it('reads the earlier one-header and separate-header forms', () => {
    expect(cooldownSignal(200, { ratelimit: 'limit=100, remaining=0, reset=7' }, NOW)).toEqual({
      ms: 7000,
      source: 'ratelimit',
    });
    expect(
      cooldownSignal(200, { 'ratelimit-remaining': '0', 'ratelimit-reset': '2' }, NOW),
    ).toEqual({ ms: 2000, source: 'ratelimit' });
  });

  it('reads X-RateLimit-Reset as delta seconds or a Unix time in seconds or ms', () => {
    const remaining = { 'x-ratelimit-remaining': '0' };
    expect(cooldownSignal(200, { ...remaining, 'x-ratelimit-reset': '4' }, NOW)).toEqual({
      ms: 4000,
      source: 'x_ratelimit',
    });
    expect(
      cooldownSignal(200, { ...remaining, 'x-ratelimit-reset': String(NOW / 1000 + 9) }, NOW),
    ).toEqual({ ms: 9000, source: 'x_ratelimit' });
    expect(
      cooldownSignal(200, { ...remaining, 'x-ratelimit-reset': String(NOW + 1500) }, NOW),
    ).toEqual({ ms: 1500, source: 'x_ratelimit' });
    expect(
      cooldownSignal(200, { 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '4' }, NOW),
    ).toBeUndefined();
    // A reset in the past asks for nothing.
    expect(
      cooldownSignal(200, { ...remaining, 'x-ratelimit-reset': String(NOW / 1000 - 9) }, NOW),
    ).toBeUndefined();
  });

  it('prefers Retry-After, and ignores what it cannot read', () => {
    expect(
      cooldownSignal(429, { 'retry-after': '2', ratelimit: '"default";r=0;t=30' }, NOW),
    ).toEqual({ ms: 2000, source: 'retry_after' });
    expect(cooldownSignal(200, { ratelimit: 'garbage;;==,' }, NOW)).toBeUndefined();
    expect(cooldownSignal(200, { ratelimit: '"default";r=zero;t=1' }, NOW)).toBeUndefined();
    expect(
      cooldownSignal(200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': 'soon' }, NOW),
    ).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { ClientQuota, quotaHeaders } from '../../../src/apps/client-quota.js';

/** A quota on a clock the test moves. */
function quotaAt(startMs = 0) {
  const clock = { ms: startMs };
  return { quota: new ClientQuota(() => clock.ms), clock };
}

describe('the per-client quota (token bucket)', () => {
  it('never refuses a client that keeps to the rate, however long it goes on', () => {
    const { quota, clock } = quotaAt();
    for (let i = 0; i < 2_000; i++) {
      expect(quota.take('steady', 200)?.accepted).toBe(true);
      clock.ms += 1000 / 200;
    }
    expect(quota.counts()).toEqual({ steady: { accepted: 2_000, rateLimited: 0 } });
  });

  it('lets a burst of the whole quota through at once, then refuses until a request refills', () => {
    const { quota, clock } = quotaAt();
    const remaining = Array.from({ length: 5 }, () => quota.take('bursty', 5)!.remaining);
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    const refused = quota.take('bursty', 5)!;
    expect(refused).toMatchObject({ accepted: false, remaining: 0, retryAfterSeconds: 1 });
    clock.ms += 199;
    expect(quota.take('bursty', 5)!.accepted).toBe(false);
    clock.ms += 1; // 200 ms: one request refilled
    expect(quota.take('bursty', 5)!.accepted).toBe(true);
    expect(quota.counts().bursty).toEqual({ accepted: 6, rateLimited: 2 });
  });

  it('takes nothing for a refused request: hammering does not push the next slot back', () => {
    const { quota, clock } = quotaAt();
    quota.take('hammer', 1);
    for (let i = 0; i < 100; i++) {
      clock.ms += 9;
      expect(quota.take('hammer', 1)!.accepted).toBe(false);
    }
    clock.ms = 1000;
    expect(quota.take('hammer', 1)!.accepted).toBe(true);
  });

  it('keeps one bucket per client id', () => {
    const { quota } = quotaAt();
    expect(quota.take('a', 1)!.accepted).toBe(true);
    expect(quota.take('a', 1)!.accepted).toBe(false);
    expect(quota.take('b', 1)!.accepted).toBe(true);
  });

  it('says how long until the bucket is full again, in whole seconds', () => {
    const { quota } = quotaAt();
    expect(quota.take('c', 10)!.resetSeconds).toBe(1);
    const { quota: slow } = quotaAt();
    expect(slow.take('d', 1)!).toMatchObject({ remaining: 0, resetSeconds: 1 });
  });

  it('without a quota (0) decides nothing but counts the request as accepted; a quota set later starts full', () => {
    const { quota, clock } = quotaAt();
    expect(quota.take('free', 0)).toBeUndefined();
    clock.ms += 1;
    const remaining = Array.from({ length: 3 }, () => quota.take('free', 3)!.accepted);
    expect(remaining).toEqual([true, true, true]);
    expect(quota.take('free', 3)!.accepted).toBe(false);
    expect(quota.counts().free).toEqual({ accepted: 4, rateLimited: 1 });
  });

  it('applies a lower limit at once', () => {
    const { quota } = quotaAt();
    quota.take('e', 100);
    const decision = quota.take('e', 2)!;
    expect(decision).toMatchObject({ accepted: true, remaining: 1 });
  });
});

describe('quota headers', () => {
  it('carry RateLimit-Policy and RateLimit, and Retry-After only on a refusal', () => {
    const { quota } = quotaAt();
    expect(quotaHeaders(quota.take('h', 2)!)).toEqual({
      'ratelimit-policy': '"default";q=2;w=1',
      ratelimit: '"default";r=1;t=1',
    });
    quota.take('h', 2);
    expect(quotaHeaders(quota.take('h', 2)!)).toEqual({
      'ratelimit-policy': '"default";q=2;w=1',
      ratelimit: '"default";r=0;t=1',
      'retry-after': '1',
    });
  });
});

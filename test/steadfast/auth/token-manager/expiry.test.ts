import { describe, expect, it } from 'vitest';
import { createFleet, fingerprintOf, settle } from './harness.js';

// A 1 h token: usable for 3570 s (30 s hard skew), soft window 600 s spread by up to 10 %
// per instance, so the soft window starts between 2970 s and 3030 s after the fetch.
const SECOND = 1000;
const HARD_MS = 3570 * SECOND;
const IN_SOFT_WINDOW_MS = 3100 * SECOND;

describe('soft refresh', () => {
  it('starts one background refresh in the soft window, and no call waits for it', async () => {
    const { clock, idp, instance } = createFleet();
    const { manager, events } = instance();
    const triggers: string[] = [];
    events.fetchStart.event((start) => triggers.push(start.trigger));
    const first = await manager.acquire();
    await clock.advance(IN_SOFT_WINDOW_MS);
    idp.hold();

    for (let i = 0; i < 100; i++) {
      expect(manager.peek()).toBe(first);
      expect(await manager.acquire()).toBe(first);
    }
    await settle();

    expect(idp.requests).toBe(2);
    expect(triggers).toEqual(['cold', 'soft_refresh']);
    idp.release();
    await settle();
    expect(manager.peek()?.fingerprint).toBe(fingerprintOf(2));
    expect(idp.requests).toBe(2);
  });

  it('checks at most about once a second while a refresh fails, and keeps serving the token', async () => {
    const { clock, idp, instance } = createFleet();
    const { manager } = instance();
    const first = await manager.acquire();
    await clock.advance(IN_SOFT_WINDOW_MS);
    idp.failNext(100);

    for (let i = 0; i < 50; i++) {
      expect(manager.peek()).toBe(first);
      await clock.advance(100);
    }

    // 5 s: the backoff (1 s, 2 s, … after the fleet's failures) spaces the checks further.
    expect(idp.requests - 1).toBeGreaterThanOrEqual(2);
    expect(idp.requests - 1).toBeLessThanOrEqual(5);
  });

  it('adopts the token another instance refreshed instead of fetching its own', async () => {
    const { clock, idp, instance } = createFleet();
    const a = instance();
    const b = instance();
    await a.manager.acquire();
    await b.manager.acquire();
    expect(idp.requests).toBe(1);
    await clock.advance(IN_SOFT_WINDOW_MS);

    a.manager.peek(); // a wins the lease and refreshes
    await settle();
    b.manager.peek();
    await settle();

    expect(idp.requests).toBe(2);
    expect(a.manager.peek()?.fingerprint).toBe(fingerprintOf(2));
    expect(b.manager.peek()?.fingerprint).toBe(fingerprintOf(2));
  });
});

describe('hard expiry', () => {
  it('never sends a token past its hard limit: the call waits for a new one', async () => {
    const { clock, idp, instance } = createFleet();
    // No soft window: nothing replaces the token before its hard limit.
    const { manager, events } = instance({
      timing: {
        hardSkewMs: 30_000,
        hardSkewRatio: 0.1,
        softWindowRatio: 0,
        minSoftWindowMs: 0,
        maxSoftWindowMs: 0,
      },
    });
    const triggers: string[] = [];
    events.fetchStart.event((start) => triggers.push(start.trigger));
    await manager.acquire();
    await clock.advance(HARD_MS - 1);
    expect(manager.peek()?.fingerprint).toBe(fingerprintOf(1));

    await clock.advance(1);
    expect(manager.peek()).toBeUndefined();
    idp.hold();
    let settled = false;
    const call = manager.acquire().finally(() => {
      settled = true;
    });
    await settle();
    expect(settled).toBe(false);
    idp.release();

    expect((await call).fingerprint).toBe(fingerprintOf(2));
    expect(triggers).toEqual(['cold', 'cold']);
  });
});

import { describe, expect, it } from 'vitest';
import { createFleet, fingerprintOf } from './harness.js';

describe('a 401 invalidates exactly the rejected token', () => {
  it('deletes the store token when it is the rejected one, and the next call fetches once', async () => {
    const { store, idp, instance } = createFleet();
    const { manager } = instance();
    await manager.acquire();

    expect(await manager.invalidate(fingerprintOf(1))).toBe('deleted');
    expect((await store.read('billing-key')).token).toBeUndefined();
    expect(manager.peek()).toBeUndefined();

    const calls = Array.from({ length: 20 }, () => manager.acquire(fingerprintOf(1)));
    const tokens = await Promise.all(calls);
    expect(new Set(tokens.map((token) => token.fingerprint))).toEqual(new Set([fingerprintOf(2)]));
    expect(idp.requests).toBe(2);
  });

  it('absorbs a stale 401 (for a token this instance already replaced) with no store operation', async () => {
    const { instance } = createFleet();
    const { manager, connection } = instance();
    await manager.acquire();
    await manager.invalidate(fingerprintOf(1));
    await manager.acquire(fingerprintOf(1));
    const before = connection.operations;

    expect(await manager.invalidate(fingerprintOf(1))).toBe('newer_present');

    expect(connection.operations).toBe(before);
    expect(manager.peek()?.fingerprint).toBe(fingerprintOf(2));
  });

  it('leaves a newer store token alone and re-sends with it, with no token request', async () => {
    const { store, idp, instance } = createFleet();
    const a = instance();
    const b = instance();
    await a.manager.acquire();
    await a.manager.invalidate(fingerprintOf(1));
    await a.manager.acquire(fingerprintOf(1)); // a's 401 brought token 2 to the store

    // b got the same 401 for token 1 a little later (it held no token in process).
    expect(await b.manager.invalidate(fingerprintOf(1))).toBe('newer_present');
    expect((await store.read('billing-key')).token?.fingerprint).toBe(fingerprintOf(2));
    expect((await b.manager.acquire(fingerprintOf(1))).fingerprint).toBe(fingerprintOf(2));
    expect(idp.requests).toBe(2);
  });

  it('shares one store invalidation among the 401s of one instance for one token', async () => {
    const { instance } = createFleet();
    const { manager, connection } = instance();
    await manager.acquire();

    const results = await Promise.all(
      Array.from({ length: 20 }, () => manager.invalidate(fingerprintOf(1))),
    );
    await manager.acquire(fingerprintOf(1));
    // Calls still in flight with the old token keep getting 401s after the new one is in.
    const late = await manager.invalidate(fingerprintOf(1));

    expect(new Set(results)).toEqual(new Set(['deleted']));
    expect(late).toBe('newer_present');
    expect(connection.calls.invalidate).toBe(1);
  });
});

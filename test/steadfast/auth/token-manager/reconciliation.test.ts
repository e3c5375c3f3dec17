import { describe, expect, it } from 'vitest';
import type { TokenStore } from '../../../../packages/steadfast/src/auth/store/types.js';
import type { LocalToken } from '../../../../packages/steadfast/src/auth/token-manager/index.js';
import { createFleet, fingerprintOf, settle } from './harness.js';

/** Another instance's token `fingerprint-x` replaces `held` in the store, with `ttlMs` to live, and is announced. */
async function replaceStoredToken(store: TokenStore, held: LocalToken, ttlMs: number) {
  await store.invalidate('billing-key', held.fingerprint);
  const record = {
    value: 'token-x',
    fingerprint: 'fingerprint-x',
    type: 'Bearer',
    issuedAt: Date.now(),
    lifetimeMs: held.lifetimeMs,
    generation: 0,
  };
  await store.offer('billing-key', record, ttlMs);
}

describe('reconciliation once the store answers again: the longest-lived token wins', () => {
  it('keeps the token fetched alone when it lives longer, and the fleet adopts it', async () => {
    const { clock, store, idp, instance } = createFleet();
    const a = instance();
    const c = instance();
    await c.manager.acquire(); // token 1 in the store
    a.connection.down('throw');
    await clock.advance(60_000);
    await a.manager.acquire(); // token 2, alone, a minute younger

    a.connection.up();
    await clock.advance(5000); // the guard's probe finds the store back; a offers token 2

    expect((await store.read('billing-key')).token?.fingerprint).toBe(fingerprintOf(2));
    expect(a.manager.peek()?.fingerprint).toBe(fingerprintOf(2));
    expect(c.manager.peek()?.fingerprint).toBe(fingerprintOf(2)); // through the announcement
    expect(idp.requests).toBe(2);
  });

  it("adopts the store's token when that one lives longer than its own", async () => {
    const { clock, store, idp, instance } = createFleet();
    const a = instance();
    const c = instance();
    a.connection.down('throw');
    await a.manager.acquire(); // token 1, alone
    await clock.advance(60_000);
    await c.manager.acquire(); // token 2 in the store, a minute younger

    a.connection.up({ reconnected: true }); // the reconnection is the hint: no wait for the timer
    await settle();

    expect(a.connection.calls.offer).toBe(1);
    expect(a.manager.peek()?.fingerprint).toBe(fingerprintOf(2));
    expect((await store.read('billing-key')).token?.fingerprint).toBe(fingerprintOf(2));
    expect(idp.requests).toBe(2);
  });

  // Regression (seen once in CI: a fleet converged on 2 tokens): a look for a longer-lived
  // token, asked by an announcement, was dropped when the reconciliation installed another
  // token first.
  it('ends on a newer token announced while the answer to its offer was still in flight', async () => {
    const { clock, store, idp, instance } = createFleet();
    const a = instance();
    const c = instance();
    a.connection.down('throw');
    await a.manager.acquire(); // token 1, alone
    await clock.advance(60_000);
    await c.manager.acquire(); // token 2 (X) in the store, longer-lived than a's
    await clock.advance(60_000);

    a.connection.up();
    a.connection.holdReplies('offer');
    await clock.advance(5000); // a's probe: the offer runs, the store keeps X, the answer is held
    expect(a.connection.calls.offer).toBe(1);

    // c replaces X with token 3 (B); its announcement reaches a before a's offer answer.
    await c.manager.invalidate(fingerprintOf(2));
    await c.manager.acquire(fingerprintOf(2));
    await settle();
    expect((await store.read('billing-key')).token?.fingerprint).toBe(fingerprintOf(3));
    a.connection.deliverReplies(); // "the store keeps X": a holds X for a moment
    await settle();

    expect(a.manager.peek()?.fingerprint).toBe(fingerprintOf(3));
    expect(idp.requests).toBe(3);
  });

  // Regression, the same race through a flight: a hint that comes during a flight runs after it.
  it('ends on a newer token announced while its own flight was adopting an older one', async () => {
    const { clock, store, idp, instance } = createFleet();
    const a = instance();
    const c = instance();
    await a.manager.acquire(); // token 1
    await clock.advance(3000_000);
    a.connection.down('throw'); // a misses what follows (its guard never noticed)
    await c.manager.invalidate(fingerprintOf(1));
    await c.manager.acquire(fingerprintOf(1)); // token 2 (X) in the store
    a.connection.up();
    await clock.advance(570_000); // token 1 is past its hard limit

    a.connection.holdReplies('read');
    const fromA = a.manager.acquire(); // a's flight reads X; the answer is in flight
    await settle();
    await c.manager.invalidate(fingerprintOf(2));
    await c.manager.acquire(fingerprintOf(2)); // token 3 (B), announced to a during its flight
    expect((await store.read('billing-key')).token?.fingerprint).toBe(fingerprintOf(3));
    a.connection.deliverReplies();
    expect((await fromA).fingerprint).toBe(fingerprintOf(2));
    await settle();

    expect(a.manager.peek()?.fingerprint).toBe(fingerprintOf(3));
    expect(idp.requests).toBe(3);
  });

  // Regression (seen in CI under load: a fleet kept two tokens after Redis came back). After an
  // outage every instance fetches alone at about the same moment, so the tokens expire
  // within milliseconds of each other, and the store's TTL and an instance's own clock may
  // rank two such tokens differently. The store's ranking must win.
  it("takes the store's token when it expires at about the same time as its own", async () => {
    const { clock, store, instance } = createFleet();
    const a = instance();
    const held = await a.manager.acquire(); // token 1, in the store too
    await clock.advance(1000);
    // Another instance's token, stored as if it expired 5 ms before a's (a skewed view of
    // who lives longer), replaces token 1 and is announced.
    const remaining = held.hardAt - clock.now();
    await replaceStoredToken(store, held, remaining - 5);
    await settle();

    expect(a.manager.peek()?.fingerprint).toBe('fingerprint-x');
  });

  it('keeps its own token when the store holds one that expires clearly earlier', async () => {
    const { clock, store, instance } = createFleet();
    const a = instance();
    const held = await a.manager.acquire();
    await clock.advance(1000);
    const remaining = held.hardAt - clock.now();
    // A minute older: adopting it would make the fleet refresh sooner.
    await replaceStoredToken(store, held, remaining - 60_000);
    await settle();

    expect(a.manager.peek()?.fingerprint).toBe(held.fingerprint);
  });
});

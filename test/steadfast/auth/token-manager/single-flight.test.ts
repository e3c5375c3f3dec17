import { describe, expect, it } from 'vitest';
import { createFleet, fingerprintOf, settle } from './harness.js';

describe('the single flight of one instance', () => {
  it('makes one token request for 50 concurrent acquires, and every caller gets its token', async () => {
    const { idp, instance } = createFleet();
    const { manager, events } = instance();
    const lookups: string[] = [];
    events.cacheLookup.event((lookup) => lookups.push(`${lookup.level}:${lookup.result}`));
    idp.hold();

    const calls = Array.from({ length: 50 }, () => manager.acquire());
    await settle();
    expect(idp.requests).toBe(1);
    idp.release();
    const tokens = await Promise.all(calls);

    expect(idp.requests).toBe(1);
    expect(new Set(tokens.map((token) => token.fingerprint))).toEqual(new Set([fingerprintOf(1)]));
    expect(lookups.filter((lookup) => lookup === 'local:miss')).toHaveLength(1);
    expect(lookups.filter((lookup) => lookup === 'local:coalesced')).toHaveLength(49);
  });

  it('answers from L1 once the token is in, with no store operation', async () => {
    const { instance } = createFleet();
    const { manager, connection } = instance();
    await manager.acquire();
    const before = connection.operations;

    for (let i = 0; i < 100; i++) expect(manager.peek()?.fingerprint).toBe(fingerprintOf(1));
    await manager.acquire();

    expect(connection.operations).toBe(before);
  });

  it('fails every caller of a failed flight, and the next caller starts a new one', async () => {
    const { clock, idp, instance } = createFleet();
    const { manager } = instance();
    idp.failNext();
    idp.hold();

    const calls = Array.from({ length: 5 }, () => manager.acquire());
    idp.release();
    const results = await Promise.allSettled(calls);
    expect(results.every((result) => result.status === 'rejected')).toBe(true);
    expect(idp.requests).toBe(1);

    await clock.advance(1000); // the first backoff is at most backoffMinMs
    expect((await manager.acquire()).fingerprint).toBe(fingerprintOf(2));
    expect(idp.requests).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import { createFleet, fingerprintOf } from './harness.js';

describe('a store that is unreachable', () => {
  it('refusing connections: the instance fetches alone, and calls stop touching the store', async () => {
    const { idp, instance } = createFleet();
    const { manager, connection, events } = instance();
    const states: boolean[] = [];
    events.storeState.event((state) => states.push(state.up));
    connection.down('throw');

    expect((await manager.acquire()).fingerprint).toBe(fingerprintOf(1));
    expect(connection.operations).toBe(1);
    expect(await manager.invalidate(fingerprintOf(1))).toBe('deleted');
    expect((await manager.acquire(fingerprintOf(1))).fingerprint).toBe(fingerprintOf(2));

    expect(connection.operations).toBe(1);
    expect(states).toEqual([false]);
    expect(idp.requests).toBe(2);
  });

  it('frozen: a call waits one operation timeout, once per outage', async () => {
    const { clock, instance } = createFleet();
    const { manager, connection } = instance();
    connection.down('hang');
    let token: string | undefined;
    void manager.acquire().then((held) => {
      token = held.fingerprint;
    });

    await clock.advance(199);
    expect(token).toBeUndefined();
    await clock.advance(1); // the store's operationTimeoutMs
    expect(token).toBe(fingerprintOf(1));

    // Later misses never wait on the store: no time passes here.
    await manager.invalidate(fingerprintOf(1));
    expect((await manager.acquire(fingerprintOf(1))).fingerprint).toBe(fingerprintOf(2));
    expect(connection.operations).toBe(1);
  });

  it('touches the store only with one probe per storeBreakMs while it is down', async () => {
    const { clock, instance } = createFleet();
    const { manager, connection } = instance();
    connection.down('throw');
    await manager.acquire();

    await clock.advance(20_000);

    expect(connection.calls.ping).toBe(4); // at 5, 10, 15 and 20 s
    expect(connection.operations).toBe(5);
  });
});

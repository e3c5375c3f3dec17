import { describe, expect, it } from 'vitest';
import { createFleet, fingerprintOf, settle } from './harness.js';

describe('two instances sharing one store: lease holder and waiter', () => {
  it('lets the lease holder fetch while the waiter adopts its token, one request in all', async () => {
    const { idp, instance } = createFleet();
    const a = instance();
    const b = instance();
    const leases: string[] = [];
    a.events.lease.event((lease) => leases.push(`a:${lease.result}`));
    b.events.lease.event((lease) => leases.push(`b:${lease.result}`));
    idp.hold();

    const fromA = a.manager.acquire();
    await settle();
    const fromB = b.manager.acquire();
    await settle();
    expect(leases).toEqual(['a:won', 'b:lost']);
    idp.release();

    expect((await fromA).fingerprint).toBe(fingerprintOf(1));
    expect((await fromB).fingerprint).toBe(fingerprintOf(1));
    expect(idp.requests).toBe(1);
  });

  it('wakes the waiter with the announcement, before its next poll', async () => {
    const { idp, instance } = createFleet();
    const a = instance();
    const b = instance();
    idp.hold();
    const fromA = a.manager.acquire();
    await settle();
    const fromB = b.manager.acquire();
    await settle();
    const readsBefore = b.connection.calls.read;

    idp.release(); // no time passes: only the announcement can end b's wait
    await fromA;

    expect((await fromB).fingerprint).toBe(fingerprintOf(1));
    expect(b.connection.calls.read).toBe(readsBefore + 1);
  });

  it('takes the lease over when the holder vanished, once the lease has expired', async () => {
    const { clock, idp, instance } = createFleet();
    const a = instance();
    const b = instance();
    idp.hold();
    void a.manager.acquire(); // a wins the lease, then never answers (its process hangs)
    await settle();
    let fromB: string | undefined;
    void b.manager.acquire().then((token) => {
      fromB = token.fingerprint;
    });

    await clock.advance(11_000);
    expect(fromB).toBeUndefined();
    expect(idp.requests).toBe(1);
    await clock.advance(1500); // past a's 12 s lease, and b's next look at it
    expect(idp.requests).toBe(2); // b holds the lease and asked
    idp.release();
    await settle();

    expect(fromB).toBe(fingerprintOf(2));
  });

  it('leaves no timer behind once closed: no poll of a waiter, no probe of the store guard', async () => {
    const { clock, idp, instance } = createFleet();
    const a = instance();
    const b = instance();
    idp.hold();
    void a.manager.acquire();
    await settle();
    void b.manager.acquire().catch(() => {});
    await settle();
    b.connection.down('throw'); // b's next look fails: the guard schedules its probe
    await clock.advance(20);
    expect(clock.pendingTimers).toBeGreaterThan(0);

    a.manager.close();
    b.manager.close();
    idp.release();
    await settle();

    expect(clock.pendingTimers).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { TokenUnavailableError } from '../../../../packages/steadfast/src/errors.js';
import { createFleet, endpointFailure, fingerprintOf } from './harness.js';

async function rejection(promise: Promise<unknown>): Promise<TokenUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TokenUnavailableError);
  return error as TokenUnavailableError;
}

describe('backoff after token-endpoint failures', () => {
  it('sends no token request until the backoff has run out', async () => {
    const { clock, idp, instance } = createFleet();
    const { manager } = instance();
    idp.failNext();

    expect((await rejection(manager.acquire())).reason).toBe('503');
    for (let i = 0; i < 10; i++) expect((await rejection(manager.acquire())).reason).toBe('503');
    expect(idp.requests).toBe(1);

    await clock.advance(1000); // backoffMinMs, jittered down to 50–100 %
    expect((await manager.acquire()).fingerprint).toBe(fingerprintOf(2));
    expect(idp.requests).toBe(2);
  });

  it('doubles the backoff with each consecutive failure of the fleet', async () => {
    const { clock, idp, instance } = createFleet();
    const a = instance();
    const b = instance();
    idp.failNext(2);

    await rejection(a.manager.acquire());
    await clock.advance(1000);
    await rejection(b.manager.acquire()); // b holds the lease now: the fleet's second failure
    expect(idp.requests).toBe(2);

    await clock.advance(999); // the second backoff is 1–2 s
    await rejection(a.manager.acquire());
    await rejection(b.manager.acquire());
    expect(idp.requests).toBe(2);
    await clock.advance(1001);
    expect((await a.manager.acquire()).fingerprint).toBe(fingerprintOf(3));
  });

  it('makes every instance fail fast during the fleet-wide backoff', async () => {
    const { idp, instance } = createFleet();
    const a = instance();
    const b = instance();
    idp.failNext();
    await rejection(a.manager.acquire());

    const error = await rejection(b.manager.acquire());

    expect(error.reason).toBe('503');
    expect(error.message).toContain('fleet-wide backoff');
    expect(idp.requests).toBe(1);
  });

  it('backs off for configurationErrorBackoffMs after a configuration error', async () => {
    const { clock, idp, instance } = createFleet();
    const { manager } = instance();
    idp.failNext(1, endpointFailure('invalid_client', 'configuration'));

    expect((await rejection(manager.acquire())).reason).toBe('invalid_client');
    await clock.advance(299_999);
    expect((await rejection(manager.acquire())).reason).toBe('invalid_client');
    await clock.advance(1);
    expect((await manager.acquire()).fingerprint).toBe(fingerprintOf(2));
    expect(idp.requests).toBe(2);
  });
});

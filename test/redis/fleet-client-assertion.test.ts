/**
 * `private_key_jwt` across a fleet: 4 processes, each with the same client key (as a fleet
 * reads it from one secret), sharing tokens through a private redis-server, against the
 * IdP of src/apps/idp.ts (oidc-provider) and the introspecting resource server. The signed
 * assertion changes per request (fresh `jti`), the token does not: one token request for a
 * cold start, one after a revocation — as with a shared secret.
 */
import { describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../helpers/redis.js';
import { INSTANCES, redisStoreOf, useFleetHarness } from './fleet-scenarios.js';

const CALLS = 50;
const redis = usePrivateRedis();

describe('private_key_jwt across 4 processes through Redis', () => {
  const harness = useFleetHarness(redisStoreOf(redis));

  it('one token request for a cold start of 4 x 50 calls, one more after a revocation, no key material anywhere', async () => {
    const { clientId, privateKeyPem } = harness.stack().keyClient;
    const { idp } = harness.stack();
    // Straight to the IdP, not through the stack's fault gate: the assertion's `aud` is the
    // token endpoint, and oidc-provider accepts only its own.
    const fleet = await harness.start({
      tokenUrl: idp.tokenEndpoint,
      clientId,
      clientSecret: undefined,
      clientAuthMethod: 'private_key_jwt',
      privateKey: privateKeyPem,
    });
    const before = idp.stats().tokenRequests;
    const cold = harness.keep(await fleet.burst(CALLS));
    expect(cold.filter((r) => r.status !== 200)).toEqual([]);
    expect(cold).toHaveLength(INSTANCES * CALLS);
    expect(idp.stats().tokenRequests - before).toBe(1);

    expect(await idp.revokeAll()).toBeGreaterThan(0);
    const after = harness.keep(await fleet.burst(CALLS));
    expect(after.filter((r) => r.status !== 200)).toEqual([]);
    expect(idp.stats().tokenRequests - before).toBe(2);
    expect(idp.stats().tokenErrors).toBe(0);

    // What a log pipeline would see of the fleet: never the key, in any encoding.
    const reports = await fleet.report();
    const seen = reports.flatMap((r) => [...r.events, ...r.logLines]).join('\n');
    const body = privateKeyPem.split('\n').filter((line) => line && !line.startsWith('-----'));
    for (const line of body) expect(seen.includes(line)).toBe(false);
    expect(seen).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/); // no JWT (assertion)
  });
});

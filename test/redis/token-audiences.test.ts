/**
 * Tokens per audience shared through a private redis-server: four instances of one
 * credential (four authorizations, each with its own store connection, as four processes
 * would have) calling two APIs get one token request per audience, under two store keys; a
 * revoked token of one audience is re-fetched once for the fleet and evicts nothing else.
 * oidc-provider in-process and loopback APIs that introspect (test/helpers/audience-idp.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisTokenStore } from '../../packages/redis/src/redis-token-store.js';
import { clientCredentials } from '../../packages/steadfast/src/auth/index.js';
import { createClient } from '../../packages/steadfast/src/client.js';
import { type AudienceIdp, BILLING, ORDERS, startAudienceIdp } from '../helpers/audience-idp.js';
import { usePrivateRedis } from '../helpers/redis.js';

const INSTANCES = 4;
const redis = usePrivateRedis();
let idp: AudienceIdp;
beforeAll(async () => {
  idp = await startAudienceIdp();
});
afterAll(async () => {
  await idp?.close();
});

function fleet(prefix: string) {
  return Array.from({ length: INSTANCES }, () => {
    const auth = clientCredentials({
      tokenUrl: idp.tokenEndpoint,
      clientId: idp.client.clientId,
      clientSecret: idp.client.clientSecret,
      resource: ORDERS,
      scope: 'orders.read',
      store: redisTokenStore({ url: redis.url, keyPrefix: prefix }),
    });
    const orders = createClient({
      name: 'orders',
      baseUrl: idp.ordersUrl,
      authOrigins: [idp.billingUrl],
      auth,
      retry: false,
      telemetry: { metrics: false, tracing: false },
    });
    const billing = orders.extend({
      baseUrl: idp.billingUrl,
      token: { resource: BILLING, scope: 'billing.read' },
    });
    return { auth, orders, billing };
  });
}

async function status(call: Promise<Response>): Promise<number> {
  const response = await call;
  await response.arrayBuffer();
  return response.status;
}

describe('tokens per audience through Redis', () => {
  it('four instances, two audiences: two token requests, two keys; a revocation re-fetches only its own', async () => {
    const instances = fleet('aud:');
    try {
      const calls = instances.flatMap(({ orders, billing }) => [
        ...Array.from({ length: 5 }, () => status(orders.fetch('/list'))),
        ...Array.from({ length: 5 }, () => status(billing.fetch('/invoices'))),
      ]);
      expect(await Promise.all(calls)).toEqual(Array(INSTANCES * 10).fill(200));
      expect(
        idp
          .tokenRequests()
          .map((r) => r.resource)
          .sort(),
      ).toEqual([BILLING, ORDERS]);
      const keys = (await redis.cli('--scan', '--pattern', 'aud:*tok*')).trim().split('\n');
      expect(keys.filter((k) => k !== '')).toHaveLength(2);

      // Revoke the billing token at the IdP: every instance's next billing call gets 401
      // invalid_token; the fleet fetches one billing token; the orders token is untouched.
      const billingToken = await instances[0]!.auth.getToken({
        resource: BILLING,
        scope: 'billing.read',
      });
      await idp.revoke(billingToken.value);
      const after = instances.flatMap(({ orders, billing }) => [
        status(billing.fetch('/invoices')),
        status(orders.fetch('/list')),
      ]);
      expect(await Promise.all(after)).toEqual(Array(INSTANCES * 2).fill(200));
      expect(
        idp
          .tokenRequests()
          .map((r) => r.resource)
          .sort(),
      ).toEqual([BILLING, BILLING, ORDERS]);
    } finally {
      for (const { orders } of instances) await orders.close();
    }
  });
});

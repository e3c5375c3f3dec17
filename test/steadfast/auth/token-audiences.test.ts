/**
 * One credential, several tokens: per resource (RFC 8707), per scope set, per call or per
 * derived client. Against oidc-provider in-process issuing a token per resource indicator and
 * two loopback APIs that introspect every token and check its audience and scope.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ClientCredentialsOptions,
  clientCredentials,
} from '../../../packages/steadfast/src/auth/index.js';
import { MAX_TOKENS_PER_CREDENTIAL } from '../../../packages/steadfast/src/auth/token-managers.js';
import { createClient } from '../../../packages/steadfast/src/client.js';
import {
  InvalidConfigurationError,
  InvalidRequestError,
  TokenUnavailableError,
} from '../../../packages/steadfast/src/errors.js';
import { type AudienceIdp, BILLING, ORDERS, startAudienceIdp } from '../../helpers/audience-idp.js';

const NO_TELEMETRY = { metrics: false, tracing: false } as const;
let idp: AudienceIdp;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  idp = await startAudienceIdp();
  cleanups.push(() => idp.close());
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function ordersCredential(options: Partial<ClientCredentialsOptions> = {}) {
  const auth = clientCredentials({
    tokenUrl: idp.tokenEndpoint,
    clientId: idp.client.clientId,
    clientSecret: idp.client.clientSecret,
    resource: ORDERS,
    scope: 'orders.read',
    ...options,
  });
  cleanups.push(() => auth.close());
  return auth;
}

function ordersClient(auth = ordersCredential()) {
  const client = createClient({
    name: 'orders',
    baseUrl: idp.ordersUrl,
    authOrigins: [idp.billingUrl],
    auth,
    retry: false,
    telemetry: NO_TELEMETRY,
  });
  cleanups.push(() => client.close());
  return client;
}

async function statuses(calls: Promise<Response>[]): Promise<number[]> {
  return Promise.all(
    calls.map(async (call) => {
      const response = await call;
      await response.arrayBuffer();
      return response.status;
    }),
  );
}

describe('tokens per audience', () => {
  it('two audiences in one process: two tokens, each sent only where it is accepted', async () => {
    const orders = ordersClient();
    const billing = orders.extend({
      baseUrl: idp.billingUrl,
      token: { resource: BILLING, scope: 'billing.read' },
    });
    const results = await statuses([
      ...Array.from({ length: 10 }, () => orders.fetch('/list')),
      ...Array.from({ length: 10 }, () => billing.fetch('/invoices')),
    ]);
    expect(results).toEqual(Array(20).fill(200));
    const requests = idp.tokenRequests();
    expect(requests).toHaveLength(2);
    expect(requests.map((r) => [r.resource, r.scope]).sort()).toEqual([
      [BILLING, 'billing.read'],
      [ORDERS, 'orders.read'],
    ]);
    // The orders token is not accepted by billing: nothing was sent with the wrong one.
    expect(idp.apiStatuses()).toEqual({ orders: { 200: 10 }, billing: { 200: 10 } });
  });

  it('a call names the token it needs; other calls keep theirs', async () => {
    const orders = ordersClient();
    expect((await statuses([orders.fetch('/list')]))[0]).toBe(200);
    // orders.read cannot write: 401 insufficient_scope, which neither evicts nor re-sends.
    expect((await statuses([orders.fetch('/write', { method: 'POST' })]))[0]).toBe(401);
    expect(idp.tokenRequests()).toHaveLength(1);
    const writer = { scope: ['orders.write', 'orders.read'] };
    const written = await statuses([
      orders.fetch('/write', { method: 'POST', token: writer }),
      orders.fetch('/write', { method: 'POST', token: { scope: 'orders.read orders.write' } }),
    ]);
    expect(written).toEqual([200, 200]);
    expect((await statuses([orders.fetch('/list')]))[0]).toBe(200);
    const requests = idp.tokenRequests();
    // Scopes in another order are the same token: one request for the two writing calls.
    expect(requests.map((r) => r.scope)).toEqual(['orders.read', 'orders.read orders.write']);
    expect(requests.every((r) => r.resource === ORDERS)).toBe(true);
  });

  it('insufficient_scope for one token evicts no other; a revoked token is re-fetched alone', async () => {
    const auth = ordersCredential();
    const orders = ordersClient(auth);
    const billingToken = { resource: BILLING, scope: 'billing.read' };
    const billing = orders.extend({ baseUrl: idp.billingUrl, token: billingToken });
    expect(await statuses([orders.fetch('/list'), billing.fetch('/invoices')])).toEqual([200, 200]);
    const reauthorized: { claims?: boolean; resent: boolean }[] = [];
    orders.events.reauthorize.event((e) => reauthorized.push({ resent: e.resent }));

    expect(await statuses([orders.fetch('/write', { method: 'POST' })])).toEqual([401]);
    expect(reauthorized).toEqual([{ resent: false }]);

    // An administrator revokes the billing token: billing's next call gets 401
    // invalid_token, re-fetches its token once and succeeds; the orders token stays.
    const held = await auth.getToken(billingToken);
    await idp.revoke(held.value);
    expect(await statuses([billing.fetch('/invoices'), orders.fetch('/list')])).toEqual([200, 200]);
    const requests = idp.tokenRequests();
    expect(requests.map((r) => r.resource).sort()).toEqual([BILLING, BILLING, ORDERS]);
    expect((await auth.getToken(billingToken)).fingerprint).not.toBe(held.fingerprint);
    expect(idp.tokenRequests()).toHaveLength(3);
  });

  it('token: false on a call or a derived client goes back to the credential’s own token', async () => {
    const orders = ordersClient();
    const billing = orders.extend({
      baseUrl: idp.billingUrl,
      token: { resource: BILLING, scope: 'billing.read' },
    });
    const back = billing.extend({ baseUrl: idp.ordersUrl, token: false });
    expect(
      await statuses([
        back.fetch('/list'),
        billing.fetch(`${idp.ordersUrl}/list`, { token: false }),
        billing.fetch('/invoices'),
      ]),
    ).toEqual([200, 200, 200]);
    expect(idp.tokenRequests().map((r) => r.resource)).toEqual(
      expect.arrayContaining([ORDERS, BILLING]),
    );
    expect(idp.tokenRequests()).toHaveLength(2);
  });

  it('serves stale answers only to calls holding the same token', async () => {
    const orders = createClient({
      name: 'orders',
      baseUrl: idp.ordersUrl,
      auth: ordersCredential(),
      retry: false,
      fallback: { on: ['server_error'] },
      telemetry: NO_TELEMETRY,
    });
    cleanups.push(() => orders.close());
    const writer = { scope: 'orders.read orders.write' };
    const text = async (call: Promise<Response>) => {
      const response = await call;
      return `${response.status} ${response.headers.get('x-steadfast-fallback') ?? 'fresh'} ${await response.text()}`;
    };
    expect(await text(orders.fetch('/list'))).toBe('200 fresh {"scope":"orders.read"}');
    expect(await text(orders.fetch('/list', { token: writer }))).toBe(
      '200 fresh {"scope":"orders.read orders.write"}',
    );
    idp.failing = true;
    // Each token gets its own last answer back; the same scopes in another order are the same token.
    expect(await text(orders.fetch('/list'))).toBe('200 stale {"scope":"orders.read"}');
    expect(
      await text(orders.fetch('/list', { token: { scope: ['orders.write', 'orders.read'] } })),
    ).toBe('200 stale {"scope":"orders.read orders.write"}');
    // A token that never had an answer gets none of the others'.
    expect(await text(orders.fetch('/list', { token: { scope: 'orders.write' } }))).toBe(
      '503 fresh ',
    );
  });

  it('checks a token selection before anything is sent, naming the field', async () => {
    const orders = ordersClient();
    const bad = await orders
      .fetch('/list', { token: { scope: 'has"quote' } })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidRequestError);
    expect((bad as InvalidRequestError).field).toBe('token.scope');
    const fragment = await orders
      .fetch('/list', { token: { resource: 'https://api.test/#x' } })
      .catch((e: unknown) => e);
    expect((fragment as InvalidRequestError).field).toBe('token.resource');
    const unknown = await orders
      .fetch('/list', { token: { audiences: 'x' } as never })
      .catch((e: unknown) => e);
    expect((unknown as InvalidRequestError).field).toBe('token.audiences');
    expect(() => orders.extend({ token: { scope: 7 } as never })).toThrow(
      InvalidConfigurationError,
    );
    expect(idp.tokenRequests()).toHaveLength(0);

    const anonymous = createClient({
      name: 'anon',
      baseUrl: idp.ordersUrl,
      telemetry: NO_TELEMETRY,
    });
    cleanups.push(() => anonymous.close());
    expect(() => anonymous.extend({ token: { scope: 'x' } })).toThrow(/has none/);
    await expect(anonymous.fetch('/list', { token: { scope: 'x' } })).rejects.toThrow(
      InvalidRequestError,
    );
  });

  it(`refuses a ${MAX_TOKENS_PER_CREDENTIAL + 1}th distinct token of one credential instead of growing without bound`, async () => {
    const orders = ordersClient();
    const refusals: unknown[] = [];
    // The credential's own token is the first; 63 more distinct audiences fit.
    for (let i = 1; i <= MAX_TOKENS_PER_CREDENTIAL; i++) {
      const response = await orders
        .fetch('/list', { token: { audience: `aud-${i}` } })
        .catch((error: unknown) => error);
      if (!(response instanceof Response)) refusals.push(response);
      else await response.arrayBuffer();
    }
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toBeInstanceOf(TokenUnavailableError);
    expect((refusals[0] as TokenUnavailableError).reason).toBe('too_many_tokens');
    expect(idp.tokenRequests()).toHaveLength(MAX_TOKENS_PER_CREDENTIAL - 1);
  }, 60_000);
});

describe('claims challenges', () => {
  it('a claims challenge → one token request with the claims, and the calls succeed', async () => {
    const auth = ordersCredential();
    const orders = ordersClient(auth);
    expect(await statuses([orders.fetch('/list')])).toEqual([200]);
    const triggers: string[] = [];
    auth.tokenEvents.fetchStart.event((e) => triggers.push(e.trigger));
    const challenged: boolean[] = [];
    orders.events.reauthorize.event((e) => challenged.push(e.claimsChallenge === true));
    // As Entra's continuous access evaluation sends it: base64 of a JSON object.
    const claims = '{"access_token":{"nbf":{"essential":true,"value":"1733300000"}}}';
    idp.demandClaims(claims);

    const results = await statuses(Array.from({ length: 5 }, () => orders.fetch('/list')));
    expect(results).toEqual([200, 200, 200, 200, 200]);
    const requests = idp.tokenRequests();
    expect(requests).toHaveLength(2);
    expect(JSON.parse(requests[1]!.claims!)).toEqual(JSON.parse(claims));
    expect(triggers).toEqual(['claims_challenge']);
    expect(challenged).toHaveLength(5);
    expect(challenged.every(Boolean)).toBe(true);
    expect(idp.apiStatuses().orders).toEqual({ 200: 6, 401: 5 });
  });

  it('each new claims challenge fetches once more, with its own claims', async () => {
    const orders = ordersClient();
    const first = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    const second = '{"access_token":{"acrs":{"essential":true,"value":"c2"}}}';
    idp.demandClaims(first);
    expect(await statuses([orders.fetch('/list'), orders.fetch('/list')])).toEqual([200, 200]);
    idp.demandClaims(second);
    expect(await statuses([orders.fetch('/list')])).toEqual([200]);
    const claims = idp.tokenRequests().map((r) => r.claims && JSON.parse(r.claims));
    expect(claims).toEqual([undefined, JSON.parse(first), JSON.parse(second)]);
  });
});

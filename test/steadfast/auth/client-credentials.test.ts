/**
 * One process, real parts: the IdP (oidc-provider) behind the fault gate, the introspecting
 * resource server, a private redis-server. The re-authorization strategy runs exactly as in
 * the client's pipeline (see fixtures/pipeline.ts); the last tests go through createClient.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisTokenStore } from '../../../packages/redis/src/redis-token-store.js';
import {
  type ClientCredentialsAuthorization,
  type ClientCredentialsOptions,
  clientCredentials,
  memoryTokenStore,
  type TokenStore,
} from '../../../packages/steadfast/src/auth/index.js';
import { createClient } from '../../../packages/steadfast/src/client.js';
import { TokenUnavailableError } from '../../../packages/steadfast/src/errors.js';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import type { ReauthorizeEvent } from '../../../packages/steadfast/src/pipeline/events.js';
import { type OAuthStack, startOAuthStack, startPostIdp } from '../../helpers/oauth.js';
import { type RedisInstance, startRedis } from '../../helpers/redis.js';
import { callThrough } from '../../redis/fixtures/pipeline.js';

let stack: OAuthStack;
let redis: RedisInstance;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  [stack, redis] = await Promise.all([startOAuthStack({ ttlSeconds: 300 }), startRedis()]);
});
afterEach(async () => {
  stack.setFault({ kind: 'none' });
  while (cleanups.length > 0) await cleanups.pop()!();
});
afterAll(async () => {
  await Promise.all([stack?.close(), redis?.stop()]);
});

let prefixCounter = 0;
function redisStore(): TokenStore {
  prefixCounter += 1;
  return redisTokenStore({ url: redis.url, keyPrefix: `cc${prefixCounter}:` });
}

function authorize(
  options: Partial<ClientCredentialsOptions> = {},
): ClientCredentialsAuthorization {
  const auth = clientCredentials({
    tokenUrl: stack.tokenUrl,
    clientId: stack.client.clientId,
    clientSecret: stack.client.clientSecret,
    scope: stack.client.scope,
    logError: () => {},
    ...options,
  });
  cleanups.push(() => auth.close());
  return auth;
}

function strategyOf(auth: ClientCredentialsAuthorization) {
  const events = new ClientEvents();
  const reauthorizations: Omit<ReauthorizeEvent, 'ctx'>[] = [];
  events.reauthorize.event(({ ctx: _ctx, ...rest }) => reauthorizations.push(rest));
  return { strategy: auth.createStrategy(events), reauthorizations };
}

describe('the re-authorization strategy', () => {
  it('sends the bearer token and re-sends once at zero delay after a revocation', async () => {
    const auth = authorize();
    const { strategy, reauthorizations } = strategyOf(auth);
    expect((await callThrough(strategy, `${stack.apiUrl}/data`)).status).toBe(200);
    await stack.idp.revokeAll();
    const result = await callThrough(strategy, `${stack.apiUrl}/data`);
    expect(result).toMatchObject({ status: 200, attempts: 2 });
    expect(reauthorizations).toEqual([
      { rejectedFingerprint: expect.any(String), newerTokenPresent: false, resent: true },
    ]);
  });

  it('returns a 401 insufficient_scope as is: a new token would not help', async () => {
    const auth = authorize();
    const { strategy, reauthorizations } = strategyOf(auth);
    const before = stack.tokenRequests();
    const result = await callThrough(strategy, `${stack.apiUrl}/admin/users`);
    expect(result).toMatchObject({ status: 401, attempts: 1 });
    expect(reauthorizations).toMatchObject([
      { resent: false, skippedBecause: 'insufficient_scope' },
    ]);
    expect(stack.tokenRequests() - before).toBe(1); // the first token only
  });

  it('does not re-send a one-shot body, but still invalidates the rejected token', async () => {
    const auth = authorize();
    const { strategy, reauthorizations } = strategyOf(auth);
    await callThrough(strategy, `${stack.apiUrl}/data`);
    await stack.idp.revokeAll();
    const result = await callThrough(strategy, `${stack.apiUrl}/data`, {
      method: 'POST',
      body: Readable.from([Buffer.from('once')]),
    });
    expect(result).toMatchObject({ status: 401, attempts: 1 });
    expect(reauthorizations).toMatchObject([
      { resent: false, skippedBecause: 'body_not_replayable' },
    ]);
    expect((await callThrough(strategy, `${stack.apiUrl}/data`)).status).toBe(200);
  });

  it('re-sends at most maxReauthorizations times', async () => {
    const auth = authorize({ maxReauthorizations: 0 });
    const { strategy, reauthorizations } = strategyOf(auth);
    await callThrough(strategy, `${stack.apiUrl}/data`);
    await stack.idp.revokeAll();
    expect((await callThrough(strategy, `${stack.apiUrl}/data`)).status).toBe(401);
    expect(reauthorizations).toMatchObject([
      { resent: false, skippedBecause: 'max_reauthorizations' },
    ]);
  });

  it('opens the auth circuit when freshly minted tokens keep being rejected, and stops fetching', async () => {
    // An API that rejects every token (think: wrong audience configured at the API).
    const api = createServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => api.close(resolve)));
    const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}/data`;
    const logLines: string[] = [];
    const auth = authorize({ logError: (line) => logLines.push(line) });
    const circuit: boolean[] = [];
    auth.tokenEvents.authCircuit.event((e) => circuit.push(e.open));
    const { strategy, reauthorizations } = strategyOf(auth);
    const before = stack.tokenRequests();
    for (let i = 0; i < 6; i++) expect((await callThrough(strategy, url)).status).toBe(401);
    // Calls 1-3: a token, 401, a fresh token, 401 again (a fresh-token rejection). After the
    // third, the circuit is open: the last token is kept and calls 4-6 fetch nothing.
    expect(stack.tokenRequests() - before).toBe(6);
    expect(circuit).toEqual([true]);
    expect(logLines).toHaveLength(1);
    expect(logLines[0]).toContain('auth circuit');
    expect(logLines[0]).not.toContain(stack.client.clientSecret);
    expect(
      reauthorizations.filter((r) => r.skippedBecause === 'auth_circuit_open').length,
    ).toBeGreaterThanOrEqual(3);
  });
});

describe('token endpoint discovery and client authentication', () => {
  it('discovers the token endpoint from the issuer (RFC 8414, then OpenID discovery)', async () => {
    const auth = authorize({ tokenUrl: undefined, issuer: stack.idp.issuer });
    const token = await auth.getToken();
    expect(token.type).toBe('Bearer');
    expect(stack.issuedTokens()).not.toContain(token.value); // it went to the IdP directly, not the gate
  });

  it('reports a discovery failure as a typed error', async () => {
    const auth = authorize({ tokenUrl: undefined, issuer: stack.apiUrl });
    const error = await auth.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as TokenUnavailableError).reason).toBe('discovery_failed');
  });

  it('authenticates with client_secret_post', async () => {
    const idp = await startPostIdp();
    cleanups.push(() => idp.close());
    const post = authorize({
      tokenUrl: idp.tokenEndpoint,
      clientId: idp.client.clientId,
      clientSecret: idp.client.clientSecret,
      clientAuthMethod: 'client_secret_post',
    });
    expect((await post.getToken()).type).toBe('Bearer');
    expect(idp.authStyles()).toEqual(['post']);
  });
});

describe.each([
  ['memory', () => memoryTokenStore()],
  ['redis', redisStore],
])('malformed token responses with the %s store', (name, makeStore) => {
  const malformed: [string, Parameters<OAuthStack['setFault']>[0], string][] = [
    ['an HTML page', { kind: 'raw', body: '<html>proxy error</html>' }, 'malformed_response'],
    [
      'no access_token',
      { kind: 'rewrite', rewrite: ({ access_token: _, ...rest }) => rest },
      'malformed_response',
    ],
    [
      'a negative expires_in',
      { kind: 'rewrite', rewrite: (j) => ({ ...j, expires_in: -30 }) },
      'malformed_response',
    ],
    [
      'an absurd expires_in',
      { kind: 'rewrite', rewrite: (j) => ({ ...j, expires_in: 1e12 }) },
      'malformed_response',
    ],
    [
      'a MAC token',
      { kind: 'rewrite', rewrite: (j) => ({ ...j, token_type: 'mac' }) },
      'unsupported_token_type',
    ],
  ];

  it.each(malformed)(
    'answers %s with a typed error and caches nothing',
    async (_label, fault, reason) => {
      const store = makeStore();
      const auth = authorize({
        store,
        backoffMinMs: 10,
        backoffMaxMs: 20,
        configurationErrorBackoffMs: 20,
      });
      stack.setFault(fault);
      const error = (await auth.getToken().catch((e: unknown) => e)) as TokenUnavailableError;
      expect(error).toBeInstanceOf(TokenUnavailableError);
      expect(error.reason).toBe(reason);
      for (const token of stack.issuedTokens()) expect(error.message).not.toContain(token);
      if (name === 'redis') {
        const keys = await redis.cli('KEYS', `cc${prefixCounter}:tok:*`);
        expect(keys.trim()).toBe('');
      }
      // Nothing was cached: once the server behaves, the next request gets a real token.
      stack.setFault({ kind: 'none' });
      await new Promise((r) => setTimeout(r, 30));
      expect((await auth.getToken()).type).toBe('Bearer');
    },
  );

  it('uses the default lifetime when expires_in is missing', async () => {
    const store = makeStore();
    const auth = authorize({ store, defaultLifetimeMs: 120_000 });
    stack.setFault({ kind: 'rewrite', rewrite: ({ expires_in: _, ...rest }) => rest });
    await auth.getToken();
    if (name === 'redis') {
      // Stored for the default lifetime minus the hard skew (10 % of 120 s).
      const ttl = Number(
        await redis.cli('PTTL', (await redis.cli('KEYS', `cc${prefixCounter}:tok:*`)).trim()),
      );
      expect(ttl).toBeGreaterThan(100_000);
      expect(ttl).toBeLessThanOrEqual(108_000);
    }
  });
});

describe('the hot path', () => {
  it('sends no Redis command once the token is in process', async () => {
    const auth = authorize({ store: redisStore() });
    const { strategy } = strategyOf(auth);
    await auth.getToken();
    const before = await redis.commandStats();
    for (let i = 0; i < 10_000; i++) await auth.getToken();
    for (let i = 0; i < 100; i++)
      expect((await callThrough(strategy, `${stack.apiUrl}/data`)).status).toBe(200);
    const after = await redis.commandStats();
    const { info: _before, ...restBefore } = before;
    const { info: _after, ...restAfter } = after;
    expect(restAfter).toEqual(restBefore);
  });
});

/** Telemetry is another suite's subject; keep these calls to the pipeline itself. */
const NO_TELEMETRY = { metrics: false, tracing: false } as const;

describe('what Redis holds', () => {
  it('never holds the client secret, whatever was done', async () => {
    const keys = (await redis.cli('KEYS', '*')).trim().split('\n').filter(Boolean);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      if ((await redis.cli('TYPE', key)).trim() !== 'string') continue;
      expect(await redis.cli('GET', key)).not.toContain(stack.client.clientSecret);
    }
  });
});

describe('through createClient', () => {
  it('re-authorizes a real client call after a revocation with one token request', async () => {
    const auth = authorize({ store: redisStore() });
    const client = createClient({
      name: 'tokens-e2e',
      baseUrl: stack.apiUrl,
      auth,
      telemetry: NO_TELEMETRY,
    });
    cleanups.push(() => client.close());
    expect((await client.fetch('/data')).status).toBe(200);
    await stack.idp.revokeAll();
    const before = stack.tokenRequests();
    const responses = await Promise.all(Array.from({ length: 20 }, () => client.fetch('/data')));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect(stack.tokenRequests() - before).toBe(1);
  });

  it('fails a call with a typed error when the secret is wrong, without retrying', async () => {
    const auth = authorize({ clientSecret: 'wrong-secret', credential: 'wrong' });
    const client = createClient({
      name: 'tokens-e2e-wrong',
      baseUrl: stack.apiUrl,
      auth,
      telemetry: NO_TELEMETRY,
    });
    cleanups.push(() => client.close());
    const before = stack.tokenRequests();
    const error = await client.fetch('/data').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as TokenUnavailableError).reason).toBe('invalid_client');
    expect(stack.tokenRequests() - before).toBe(1);
  });
});

describe('one authorization shared by several clients', () => {
  it('stays usable until the last client is closed', async () => {
    const auth = authorize();
    const first = createClient({
      name: 'shared-1',
      baseUrl: stack.apiUrl,
      auth,
      telemetry: NO_TELEMETRY,
    });
    const second = createClient({
      name: 'shared-2',
      baseUrl: stack.apiUrl,
      auth,
      telemetry: NO_TELEMETRY,
    });
    expect((await first.fetch('/data')).status).toBe(200);
    await first.close();
    const before = stack.tokenRequests();
    const response = await second.fetch('/data');
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    expect(stack.tokenRequests() - before).toBe(0); // still the same token
    await second.close();
  });
});

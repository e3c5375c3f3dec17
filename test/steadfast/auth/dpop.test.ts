/**
 * DPoP (RFC 9449) end to end, against oidc-provider in-process (features.dPoP, nonces
 * required at its token endpoint) and a loopback resource server that checks every proof
 * as a real one would (test/helpers/dpop-idp.ts): the token request's proof and the
 * `use_dpop_nonce` round trip, a fresh proof per wire attempt (retries included, no `jti`
 * twice), the resource server's nonce (asked for, rotated, announced), nothing of a proof
 * left on the call context or in spans, and the option checks at construction.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientCredentialsOptions,
  clientCredentials,
} from '../../../packages/steadfast/src/auth/index.js';
import { memoryTokenStore } from '../../../packages/steadfast/src/auth/store/memory.js';
import { createClient } from '../../../packages/steadfast/src/client.js';
import {
  InvalidConfigurationError,
  TokenUnavailableError,
} from '../../../packages/steadfast/src/errors.js';
import type { CallContext } from '../../../packages/steadfast/src/pipeline/types.js';
import { type DpopIdp, jwkThumbprint, startDpopIdp } from '../../helpers/dpop-idp.js';
import { setUpTracing } from '../telemetry/support.js';

const NO_TELEMETRY = { metrics: false, tracing: false } as const;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function idp(options: Parameters<typeof startDpopIdp>[0] = {}): Promise<DpopIdp> {
  const started = await startDpopIdp(options);
  cleanups.push(() => started.close());
  return started;
}

function authorize(server: DpopIdp, options: Partial<ClientCredentialsOptions> = {}) {
  const auth = clientCredentials({
    tokenUrl: server.tokenEndpoint,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
    scope: 'data.read',
    dpop: true,
    ...options,
  });
  cleanups.push(() => auth.close());
  return auth;
}

function client(
  server: DpopIdp,
  auth: ReturnType<typeof authorize>,
  extra: Partial<Parameters<typeof createClient>[0]> = {},
) {
  const made = createClient({
    name: 'dpop-api',
    baseUrl: server.apiUrl,
    auth,
    telemetry: NO_TELEMETRY,
    ...extra,
  });
  cleanups.push(() => made.close());
  return made;
}

async function status(made: ReturnType<typeof client>, path = '/data'): Promise<number> {
  const response = await made.fetch(path);
  await response.arrayBuffer();
  return response.status;
}

const reasons = (server: DpopIdp) => server.apiRequests().map((r) => r.reason ?? r.status);

describe('DPoP token and calls', () => {
  it('gets a DPoP token (one extra token request for the nonce) and a 200 (one extra call for the API nonce)', async () => {
    const server = await idp();
    const auth = authorize(server);
    const api = client(server, auth);
    expect(await status(api, '/data?page=2#frag')).toBe(200);

    // Token endpoint: refused once for want of a nonce, then a DPoP token.
    const requests = server.tokenRequests();
    expect(requests.map((r) => r.error ?? r.status)).toEqual(['use_dpop_nonce', 200]);
    expect(requests[1]!.tokenType).toBe('DPoP');
    const [first, second] = requests.map((r) => r.proof!);
    expect(first!.header).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
    expect(Object.keys(first!.header.jwk as object).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(first!.claims).toMatchObject({ htm: 'POST', htu: server.tokenEndpoint });
    expect(first!.claims.nonce).toBeUndefined();
    expect(typeof second!.claims.nonce).toBe('string');
    expect(second!.claims.jti).not.toBe(first!.claims.jti);
    expect(Math.abs(Number(second!.claims.iat) - Date.now() / 1000)).toBeLessThan(5);

    // Resource server: refused once for want of its nonce, then accepted.
    expect(reasons(server)).toEqual(['use_dpop_nonce', 200]);
    const accepted = server.apiRequests()[1]!;
    expect(accepted.nonce).toBe(server.apiNonce());
    expect(accepted.jkt).toBe(jwkThumbprint(first!.header.jwk as never));

    // Both nonces are remembered: the next call is one request, no token request.
    expect(await status(api)).toBe(200);
    expect(reasons(server)).toEqual(['use_dpop_nonce', 200, 200]);
    expect(server.tokenRequests()).toHaveLength(2);
    const token = await auth.getToken();
    expect(token.type).toBe('DPoP');
  });

  const algorithms: [string, () => { privateKey: KeyObject }][] = [
    ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['PS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['EdDSA', () => generateKeyPairSync('ed25519')],
  ];
  it.each(algorithms)('binds the token to a given %s key', async (alg, make) => {
    const server = await idp({ requireNonceAtIdp: false, requireNonceAtApi: false });
    const { privateKey } = make();
    const auth = authorize(server, {
      dpop: {
        privateKey: privateKey.export({ format: 'jwk' }),
        ...(alg === 'PS256' ? { signingAlgorithm: 'PS256' as const } : {}),
      },
    });
    expect(await status(client(server, auth))).toBe(200);
    const proof = server.tokenRequests()[0]!.proof!;
    expect(proof.header.alg).toBe(alg);
    const publicJwk = (await import('node:crypto'))
      .createPublicKey(privateKey)
      .export({ format: 'jwk' });
    expect(server.apiRequests()[0]!.jkt).toBe(jwkThumbprint(publicJwk as never));
    expect(JSON.stringify(proof.header)).not.toContain('"d"');
  });

  it('with private_key_jwt, the re-send for the token endpoint nonce carries a new assertion (its jti is single-use)', async () => {
    const clientKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const server = await idp({
      clientJwks: {
        keys: [{ ...clientKey.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' }],
      },
    });
    const auth = authorize(server, {
      clientSecret: undefined,
      clientAuthMethod: 'private_key_jwt',
      privateKey: clientKey.privateKey,
    });
    expect(await status(client(server, auth))).toBe(200);
    expect(server.tokenRequests().map((r) => r.error ?? r.status)).toEqual(['use_dpop_nonce', 200]);
  });

  it('signs a fresh proof for every attempt: retries each carry their own jti, none replayed', async () => {
    const server = await idp({ requireNonceAtApi: false });
    const auth = authorize(server);
    const api = client(server, auth, { retry: { baseDelayMs: 1, maxRetries: 3, budget: false } });
    expect(await status(api)).toBe(200);
    server.reset();
    server.failNext(2);
    expect(await status(api, '/data?x=1')).toBe(200);
    const records = server.apiRequests();
    expect(records.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(new Set(records.map((r) => r.jti)).size).toBe(3);
    expect(records.every((r) => r.reason === undefined || r.reason === 'failNext')).toBe(true);
  });

  it('answers a rotated API nonce with one re-send, keeping the token; a nonce announced on a 200 costs nothing', async () => {
    const server = await idp();
    const auth = authorize(server);
    const api = client(server, auth);
    expect(await status(api)).toBe(200);
    const fingerprint = (await auth.getToken()).fingerprint;
    server.reset();
    const handled: object[] = [];
    api.events.reauthorize.event(({ ctx: _, ...e }) => handled.push(e));

    server.rotateNonce();
    expect(await status(api)).toBe(200);
    expect(reasons(server)).toEqual(['use_dpop_nonce', 200]);
    expect((await auth.getToken()).fingerprint).toBe(fingerprint);
    expect(server.tokenRequests()).toHaveLength(0);
    // Observable as a re-send of its own kind, the token kept (not invalidated).
    expect(handled).toEqual([
      { rejectedFingerprint: fingerprint, newerTokenPresent: false, resent: true, dpopNonce: true },
    ]);

    server.reset();
    server.rotateNonce(true); // the old nonce still works; 200s carry the new one
    expect(await status(api)).toBe(200);
    expect(await status(api)).toBe(200);
    const [announced, next] = server.apiRequests();
    expect(announced!.nonce).not.toBe(server.apiNonce());
    expect(next!.nonce).toBe(server.apiNonce());
    expect(reasons(server)).toEqual([200, 200]);
  });

  it('re-sends with the nonce of the challenge, though a request sent later brought an older one', async () => {
    const server = await idp();
    const auth = authorize(server);
    // A hook holds the call marked x-hold after its proof is signed: its answer comes last.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const api = client(server, auth, {
      hooks: {
        beforeRequest: async (ctx) => {
          if (ctx.headers['x-hold'] !== undefined) await held;
        },
      },
    });
    expect(await status(api)).toBe(200); // the client knows the API's nonce N0
    server.reset();
    const first = api.fetch('/data', { headers: { 'x-hold': '1' } }); // signed with N0, held
    const answered = first.then(
      async (r) => {
        await r.arrayBuffer();
        return r.status;
      },
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.rotateNonce(true); // N1; N0 still accepted, and a 200 announces N1
    expect(await status(api)).toBe(200); // sent later, answered first: the client keeps N1
    server.rotateNonce(); // N2; neither N0 nor N1 accepted
    release();
    // The held call's 401 gives N2: its one re-send signs with N2, not with the N1 that
    // the later request left (that re-send would get a second 401, and the call would fail).
    expect(await answered).toBe(200);
    expect(reasons(server)).toEqual([200, 'use_dpop_nonce', 200]);
    const [, challenged, resent] = server.apiRequests();
    expect(resent!.nonce).toBe(server.apiNonce());
    expect(challenged!.nonce).not.toBe(resent!.nonce);
    expect(server.tokenRequests()).toHaveLength(0);
  });

  it('returns a nonce challenge for a one-shot body, without invalidating the token', async () => {
    const server = await idp();
    const auth = authorize(server);
    const api = client(server, auth);
    expect(await status(api)).toBe(200);
    server.rotateNonce();
    const response = await api.fetch('/data', {
      method: 'POST',
      body: Readable.from([Buffer.from('once')]),
    });
    await response.arrayBuffer();
    expect(response.status).toBe(401);
    expect(response.headers.get('dpop-nonce')).toBe(server.apiNonce());
    // The next call uses the nonce that 401 gave, and the same token.
    expect(await status(api)).toBe(200);
    expect(server.tokensIssued()).toBe(1);
  });

  it('invalidates a revoked DPoP token on a DPoP invalid_token 401 and gets one new token', async () => {
    const server = await idp();
    const auth = authorize(server);
    const api = client(server, auth);
    expect(await status(api)).toBe(200);
    await server.revoke(server.accessTokens()[0]!);
    const results = await Promise.all(Array.from({ length: 10 }, () => status(api)));
    expect(results.every((s) => s === 200)).toBe(true);
    expect(server.tokensIssued()).toBe(2);
  });

  it('leaves neither token nor proof on the call context, and puts neither in spans', async () => {
    const tracing = setUpTracing();
    const server = await idp();
    const auth = authorize(server);
    const seen: CallContext[] = [];
    const proofs: string[] = [];
    const api = client(server, auth, {
      telemetry: { metrics: false, tracing: { tracerProvider: tracing.provider } },
      hooks: {
        beforeRequest: (ctx: CallContext) => {
          seen.push(ctx);
          proofs.push(ctx.headers.dpop!);
        },
      },
    });
    expect(await status(api)).toBe(200);
    expect(proofs).toHaveLength(2); // the nonce challenge and its re-send
    for (const ctx of seen) {
      expect(ctx.headers.dpop).toBeUndefined();
      expect(ctx.headers.authorization).toBeUndefined();
    }
    const exported = JSON.stringify(
      tracing.spans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })),
    );
    expect(exported.length).toBeGreaterThan(100);
    const token = (await auth.getToken()).value;
    for (const secret of [token, ...proofs, ...proofs.map((p) => p.split('.')[2]!)])
      expect(exported).not.toContain(secret);
    await tracing.provider.shutdown();
  });
});

describe('a token endpoint that echoes the proof', () => {
  it('never shows it: the error has it redacted, signature included', async () => {
    // A server that quotes the request's DPoP header in its error (some do, in
    // error_description): the proof is a bearer-like secret for its minute of validity.
    const proofs: string[] = [];
    const server = createServer((req, res) => {
      req.resume();
      const proof = String(req.headers.dpop ?? '');
      proofs.push(proof);
      res.writeHead(400, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: 'invalid_dpop_proof',
          error_description: `rejected ${proof} (signature ${proof.split('.')[2]})`,
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    const auth = clientCredentials({
      tokenUrl,
      clientId: 'echo-worker',
      clientSecret: 'echo-secret-1a2b3c',
      dpop: true,
    });
    cleanups.push(() => auth.close());
    const error = (await auth.getToken().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect(proofs).toHaveLength(1);
    const shown = `${error.message} ${String(error.cause)} ${JSON.stringify(error)}`;
    expect(shown).toContain('invalid_dpop_proof');
    expect(shown).not.toContain(proofs[0]!);
    expect(shown).not.toContain(proofs[0]!.split('.')[2]!);
  });
});

describe('the dpop option is checked at construction', () => {
  let base: ClientCredentialsOptions;
  beforeAll(() => {
    base = { tokenUrl: 'https://idp.example/token', clientId: 'w', clientSecret: 's' };
  });
  const fieldOf = (options: Partial<ClientCredentialsOptions>): string => {
    try {
      clientCredentials({ ...base, ...options }).close();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigurationError);
      expect((error as Error).message).not.toContain('BEGIN');
      return (error as InvalidConfigurationError).field;
    }
    return 'accepted';
  };
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;

  it('names what is wrong', () => {
    expect(fieldOf({ dpop: true })).toBe('accepted');
    expect(fieldOf({ dpop: false })).toBe('accepted');
    expect(fieldOf({ dpop: { signingAlgorithm: 'RS256' } })).toBe('accepted');
    expect(fieldOf({ dpop: 'yes' as never })).toBe('dpop');
    expect(fieldOf({ dpop: { signingAlgorithm: 'HS256' as never } })).toBe('dpop.signingAlgorithm');
    expect(fieldOf({ dpop: { privateKey: pem.slice(0, 80) } })).toBe('dpop.privateKey');
    expect(fieldOf({ dpop: { privateKey: ec.publicKey } })).toBe('dpop.privateKey');
    expect(fieldOf({ dpop: { privateKey: pem, signingAlgorithm: 'RS256' } })).toBe(
      'dpop.signingAlgorithm',
    );
    expect(fieldOf({ dpop: { privateKey: pem, keySharing: 'instance' } })).toBe('dpop.keySharing');
    expect(fieldOf({ dpop: { keySharing: 'everywhere' as never } })).toBe('dpop.keySharing');
    expect(fieldOf({ dpop: { privatekey: pem } as never })).toBe('dpop.privatekey');
  });

  it("refuses keySharing 'store' with a store that would keep the key in clear", () => {
    const memory = memoryTokenStore();
    expect(fieldOf({ store: memory, dpop: { keySharing: 'store' } })).toBe('accepted');
    // A store that does not say it keeps records encrypted (a custom one, Redis without
    // encryptionKey: test/redis/fleet-dpop.test.ts).
    const plain = new Proxy(memory, {
      get: (target, key) =>
        key === 'confidential'
          ? undefined
          : ((Reflect.get(target, key) as unknown as () => unknown).bind?.(target) ??
            Reflect.get(target, key)),
    });
    expect(fieldOf({ store: plain, dpop: { keySharing: 'store' } })).toBe('dpop.keySharing');
    expect(fieldOf({ store: plain, dpop: true })).toBe('accepted'); // 'instance'
  });
});

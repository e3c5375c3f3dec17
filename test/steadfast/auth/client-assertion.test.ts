/**
 * Client authentication with a signed assertion (RFC 7523 §2.2): `client_secret_jwt` and
 * `private_key_jwt`, against oidc-provider in-process configured per case, with a loopback
 * resource server that introspects each token. Test keys are generated here, at test time.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ClientCredentialsOptions,
  clientCredentials,
} from '../../../packages/steadfast/src/auth/index.js';
import { createClient } from '../../../packages/steadfast/src/client.js';
import { InvalidConfigurationError } from '../../../packages/steadfast/src/errors.js';
import { type JwtIdp, startJwtIdp } from '../../helpers/jwt-idp.js';
import { startOAuthStack } from '../../helpers/oauth.js';
import { refusedFiveTimes } from './refused.js';

const NO_TELEMETRY = { metrics: false, tracing: false } as const;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

type Algorithm = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

function keyPair(algorithm: Algorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  if (algorithm === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  if (algorithm === 'EdDSA') return generateKeyPairSync('ed25519');
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

function publicJwk(publicKey: KeyObject, kid: string, alg: Algorithm): object {
  return { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

async function idp(options: Parameters<typeof startJwtIdp>[0]): Promise<JwtIdp> {
  const started = await startJwtIdp(options);
  cleanups.push(() => started.close());
  return started;
}

function authorize(options: ClientCredentialsOptions) {
  const auth = clientCredentials({ scope: 'data.read', ...options });
  cleanups.push(() => auth.close());
  return auth;
}

function decode(assertion: string): {
  header: Record<string, unknown>;
  claims: Record<string, number | string>;
} {
  const [header, claims] = assertion.split('.');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(claims!, 'base64url').toString()),
  };
}

async function callApi(auth: ReturnType<typeof authorize>, api: string): Promise<number> {
  const client = createClient({ name: 'jwt-api', baseUrl: api, auth, telemetry: NO_TELEMETRY });
  cleanups.push(() => client.close());
  const response = await client.fetch('/data');
  await response.arrayBuffer();
  return response.status;
}

const SECRET = randomBytes(32).toString('base64url');

describe('client_secret_jwt', () => {
  it('gets a token with an HS256 assertion signed with the secret, and a 200', async () => {
    const server = await idp({ method: 'client_secret_jwt', clientSecret: SECRET });
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: server.clientId,
      clientSecret: SECRET,
      clientAuthMethod: 'client_secret_jwt',
    });
    expect(await callApi(auth, server.apiUrl)).toBe(200);
    expect(server.tokenRequests()).toBe(1);
    const { header, claims } = decode(server.assertions()[0]!);
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(claims).toMatchObject({
      iss: server.clientId,
      sub: server.clientId,
      aud: server.tokenEndpoint,
    });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(60);
  });

  it('fails with invalid_client on a wrong secret, after one token request, hiding the assertion', async () => {
    const server = await idp({ method: 'client_secret_jwt', clientSecret: SECRET });
    const wrong = randomBytes(32).toString('base64url');
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: server.clientId,
      clientSecret: wrong,
      clientAuthMethod: 'client_secret_jwt',
    });
    const shown = await refusedFiveTimes(auth, server.apiUrl, server.tokenRequests);
    const assertion = server.assertions()[0]!;
    for (const secret of [assertion, assertion.split('.')[2]!, wrong])
      expect(shown).not.toContain(secret);
  });
});

describe('private_key_jwt', () => {
  const cases: [Algorithm, 'pem' | 'jwk' | 'KeyObject'][] = [
    ['RS256', 'pem'],
    ['PS256', 'jwk'],
    ['ES256', 'KeyObject'],
    ['EdDSA', 'pem'],
  ];
  it.each(cases)('gets a token with %s (a %s key) and a 200', async (algorithm, form) => {
    const { privateKey, publicKey } = keyPair(algorithm);
    const kid = `key-${algorithm}`;
    const server = await idp({
      method: 'private_key_jwt',
      jwks: { keys: [publicJwk(publicKey, kid, algorithm)] },
    });
    const key =
      form === 'pem'
        ? (privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)
        : form === 'jwk'
          ? { ...privateKey.export({ format: 'jwk' }), kid }
          : privateKey;
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: server.clientId,
      clientAuthMethod: 'private_key_jwt',
      privateKey: key,
      ...(algorithm === 'PS256' ? { signingAlgorithm: 'PS256' as const } : {}),
      ...(form === 'jwk' ? {} : { keyId: kid }),
    });
    expect(await callApi(auth, server.apiUrl)).toBe(200);
    const { header, claims } = decode(server.assertions()[0]!);
    expect(header).toEqual({ alg: algorithm, typ: 'JWT', kid });
    expect(claims).toMatchObject({
      iss: server.clientId,
      sub: server.clientId,
      aud: server.tokenEndpoint,
    });
  });

  it('signs a unique, short-lived assertion per token request', async () => {
    const { privateKey, publicKey } = keyPair('ES256');
    const server = await idp({
      method: 'private_key_jwt',
      jwks: { keys: [publicJwk(publicKey, 'k1', 'ES256')] },
    });
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: server.clientId,
      clientAuthMethod: 'private_key_jwt',
      privateKey,
      assertionLifetimeMs: 30_000,
    });
    for (let i = 0; i < 3; i += 1) {
      const token = await auth.getToken();
      expect(await auth.invalidateToken(token.fingerprint)).toBe('deleted');
    }
    expect(server.tokenRequests()).toBe(3);
    const claims = server.assertions().map((a) => decode(a).claims);
    expect(new Set(claims.map((c) => c.jti)).size).toBe(3);
    const now = Date.now() / 1000;
    for (const c of claims) {
      expect(Number(c.exp) - Number(c.iat)).toBe(30);
      expect(Math.abs(Number(c.iat) - now)).toBeLessThan(10);
    }
  });

  it('sends the issuer as audience when asked', async () => {
    const { privateKey, publicKey } = keyPair('EdDSA');
    const server = await idp({
      method: 'private_key_jwt',
      jwks: { keys: [publicJwk(publicKey, 'k1', 'EdDSA')] },
    });
    const auth = authorize({
      issuer: server.issuer,
      clientId: server.clientId,
      clientAuthMethod: 'private_key_jwt',
      privateKey,
      assertionAudience: 'issuer',
    });
    expect(await callApi(auth, server.apiUrl)).toBe(200);
    expect(decode(server.assertions()[0]!).claims.aud).toBe(server.issuer);
  });

  it('sends the audience it is given when the token endpoint is reached by another name', async () => {
    // The OAuth test stack's fault gate stands in front of the IdP (a proxy, an internal
    // host name): the IdP accepts only its own token endpoint as the assertion's audience.
    const stack = await startOAuthStack();
    cleanups.push(() => stack.close());
    const options = {
      tokenUrl: stack.tokenUrl,
      clientId: stack.keyClient.clientId,
      clientAuthMethod: 'private_key_jwt',
      privateKey: stack.keyClient.privateKeyPem,
      scope: stack.client.scope,
    } as const;
    const named = authorize({ ...options, assertionAudience: stack.idp.tokenEndpoint });
    expect(await callApi(named, stack.apiUrl)).toBe(200);
    expect(stack.tokenRequests()).toBe(1);
    // Without it, the assertion names the proxy, and the IdP refuses it.
    const unnamed = authorize(options);
    await expect(unnamed.getToken()).rejects.toMatchObject({ reason: 'invalid_client' });
  });

  it('fails with invalid_client on a key the server does not know, after one request, hiding key and assertion', async () => {
    const registered = keyPair('RS256');
    const other = keyPair('RS256');
    const server = await idp({
      method: 'private_key_jwt',
      jwks: { keys: [publicJwk(registered.publicKey, 'k1', 'RS256')] },
    });
    const pem = other.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: server.clientId,
      clientAuthMethod: 'private_key_jwt',
      privateKey: pem,
      keyId: 'k1',
    });
    const shown = await refusedFiveTimes(auth, server.apiUrl, server.tokenRequests);
    const assertion = server.assertions()[0]!;
    const d = (other.privateKey.export({ format: 'jwk' }) as { d: string }).d;
    const body = pem.split('\n')[1]!;
    for (const secret of [assertion, assertion.split('.')[2]!, d, body])
      expect(shown).not.toContain(secret);
  });

  it('gives the store neither the key nor the assertion', async () => {
    const { privateKey, publicKey } = keyPair('RS256');
    const server = await idp({
      method: 'private_key_jwt',
      jwks: { keys: [publicJwk(publicKey, 'k1', 'RS256')] },
    });
    const { memoryTokenStore } = await import('../../../packages/steadfast/src/auth/index.js');
    const inner = memoryTokenStore();
    const written: string[] = [];
    const store = new Proxy(inner, {
      get(target, name) {
        const value = Reflect.get(target, name, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          written.push(JSON.stringify(args, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
          return value.apply(target, args);
        };
      },
    });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: server.clientId,
      clientAuthMethod: 'private_key_jwt',
      privateKey: pem,
      store,
    });
    expect(await callApi(auth, server.apiUrl)).toBe(200);
    const all = written.join('\n');
    expect(all.length).toBeGreaterThan(0);
    const d = (privateKey.export({ format: 'jwk' }) as { d: string }).d;
    const assertion = server.assertions()[0]!;
    for (const secret of [pem.split('\n')[1]!, d, assertion, assertion.split('.')[2]!]) {
      expect(all).not.toContain(secret);
    }
  });

  it('names a new key by its public thumbprint: another key, another token', async () => {
    const a = keyPair('ES256');
    const b = keyPair('ES256');
    const server = await idp({
      method: 'private_key_jwt',
      jwks: { keys: [publicJwk(a.publicKey, 'a', 'ES256'), publicJwk(b.publicKey, 'b', 'ES256')] },
    });
    const { memoryTokenStore } = await import('../../../packages/steadfast/src/auth/index.js');
    const store = memoryTokenStore();
    const base = {
      tokenUrl: server.tokenEndpoint,
      clientId: server.clientId,
      clientAuthMethod: 'private_key_jwt' as const,
      store,
    };
    const first = authorize({ ...base, privateKey: a.privateKey, keyId: 'a' });
    const second = authorize({ ...base, privateKey: b.privateKey, keyId: 'b' });
    const same = authorize({
      ...base,
      privateKey: a.privateKey.export({ format: 'jwk' }),
      keyId: 'a',
    });
    const [t1, t2] = [await first.getToken(), await second.getToken()];
    expect(t1.value).not.toBe(t2.value);
    expect((await same.getToken()).value).toBe(t1.value);
    expect(server.tokenRequests()).toBe(2);
  });
});

describe('configuration', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const d = (rsa.privateKey.export({ format: 'jwk' }) as { d: string }).d;
  const base = { tokenUrl: 'http://127.0.0.1:9/token', clientId: 'c' };
  const bad: [string, Record<string, unknown>, string][] = [
    ['no secret for client_secret_jwt', { clientAuthMethod: 'client_secret_jwt' }, 'clientSecret'],
    ['no secret for client_secret_basic', {}, 'clientSecret'],
    ['no key for private_key_jwt', { clientAuthMethod: 'private_key_jwt' }, 'privateKey'],
    [
      'a public key',
      { clientAuthMethod: 'private_key_jwt', privateKey: rsa.publicKey },
      'privateKey',
    ],
    [
      'a truncated PEM',
      { clientAuthMethod: 'private_key_jwt', privateKey: pem.slice(0, 200) },
      'privateKey',
    ],
    [
      'a public JWK',
      { clientAuthMethod: 'private_key_jwt', privateKey: rsa.publicKey.export({ format: 'jwk' }) },
      'privateKey',
    ],
    [
      'ES256 with an RSA key',
      { clientAuthMethod: 'private_key_jwt', privateKey: pem, signingAlgorithm: 'ES256' },
      'signingAlgorithm',
    ],
    [
      'a 1024-bit RSA key',
      {
        clientAuthMethod: 'private_key_jwt',
        privateKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
      },
      'privateKey',
    ],
    [
      'RS256 with client_secret_jwt',
      { clientAuthMethod: 'client_secret_jwt', clientSecret: 's', signingAlgorithm: 'RS256' },
      'signingAlgorithm',
    ],
    [
      'a secret with private_key_jwt',
      { clientAuthMethod: 'private_key_jwt', privateKey: pem, clientSecret: 's' },
      'clientSecret',
    ],
    [
      'a key with client_secret_post',
      { clientAuthMethod: 'client_secret_post', clientSecret: 's', privateKey: pem },
      'privateKey',
    ],
    [
      'issuer audience without issuer',
      { clientAuthMethod: 'private_key_jwt', privateKey: pem, assertionAudience: 'issuer' },
      'assertionAudience',
    ],
    [
      'an audience that is neither a keyword nor a URL',
      { clientAuthMethod: 'private_key_jwt', privateKey: pem, assertionAudience: 'endpoint' },
      'assertionAudience',
    ],
    [
      'an audience URL with credentials',
      {
        clientAuthMethod: 'private_key_jwt',
        privateKey: pem,
        assertionAudience: 'https://u:p@idp.example/token',
      },
      'assertionAudience',
    ],
  ];
  it('refuses an encrypted PEM key, saying how to give it (a KeyObject), and takes that', async () => {
    const encrypted = rsa.privateKey.export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'pass-phrase-789',
    }) as string;
    const options = { ...base, clientAuthMethod: 'private_key_jwt' as const };
    expect(() => clientCredentials({ ...options, privateKey: encrypted })).toThrowError(
      /privateKey.*is an encrypted PEM key: give it decrypted, as a KeyObject/,
    );
    const key = createPrivateKey({ key: encrypted, passphrase: 'pass-phrase-789' });
    await clientCredentials({ ...options, privateKey: key }).close();
  });

  it.each(bad)('refuses %s, naming the option and never the key', (_, options, option) => {
    let error: unknown;
    try {
      clientCredentials({ ...base, ...options } as unknown as ClientCredentialsOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain(option);
    expect(message).not.toContain(d);
    expect(message).not.toContain(pem.split('\n')[1]!);
  });
});

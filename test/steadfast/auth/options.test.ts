import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { redisTokenStore } from '../../../packages/redis/src/redis-token-store.js';
import { clientCredentials } from '../../../packages/steadfast/src/auth/index.js';
import { memoryTokenStore } from '../../../packages/steadfast/src/auth/store/memory.js';
import type { TokenStore } from '../../../packages/steadfast/src/auth/store/types.js';
import { InvalidConfigurationError } from '../../../packages/steadfast/src/errors.js';

const base = {
  tokenUrl: 'https://idp.example/token',
  clientId: 'worker',
  clientSecret: 's3cr3t-value',
};

function fieldOf(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as Error).message).not.toContain('s3cr3t-value');
    return (error as InvalidConfigurationError).field;
  }
  throw new Error('expected an InvalidConfigurationError');
}

describe('clientCredentials options', () => {
  it('builds with the minimal options and closes', async () => {
    const auth = clientCredentials(base);
    expect(auth.credential).toBe('worker');
    await auth.close();
  });

  it.each([
    ['tokenUrl', { ...base, tokenUrl: 'ftp://idp.example/token' }],
    ['tokenUrl', { ...base, tokenUrl: 'https://user:pw@idp.example/token' }],
    ['tokenUrl', { clientId: 'w', clientSecret: 'x' }],
    ['tokenUrl', { ...base, issuer: 'https://idp.example' }],
    ['clientId', { ...base, clientId: '' }],
    ['clientSecret', { ...base, clientSecret: undefined }],
    ['clientAuthMethod', { ...base, clientAuthMethod: 'none' }],
    ['scope', { ...base, scope: 'a "b"' }],
    ['resource', { ...base, resource: 'not a uri' }],
    ['credential', { ...base, credential: 'has spaces in it' }],
    ['leaseMs', { ...base, tokenEndpointTimeoutMs: 10_000, leaseMs: 5_000 }],
    ['softWindowRatio', { ...base, softWindowRatio: 0.9 }],
    ['maxReauthorizations', { ...base, maxReauthorizations: 10 }],
    ['defaultLifetimeMs', { ...base, defaultLifetimeMs: -1 }],
    ['store', { ...base, store: {} }],
  ])('rejects a bad %s at construction, naming the field', (field, options) => {
    expect(fieldOf(() => clientCredentials(options as never))).toBe(field);
  });

  it('validates the Redis store options too', () => {
    expect(fieldOf(() => redisTokenStore({}))).toBe('url');
    expect(fieldOf(() => redisTokenStore({ url: 'http://localhost:6379' }))).toBe('url');
    expect(fieldOf(() => redisTokenStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'a{b}' }))).toBe(
      'keyPrefix',
    );
    expect(
      fieldOf(() => redisTokenStore({ url: 'redis://127.0.0.1:1', encryptionKey: 'too-short' })),
    ).toBe('encryptionKey');
    expect(
      fieldOf(() => redisTokenStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 0 })),
    ).toBe('commandTimeoutMs');
  });

  it.each([
    ['scopes', { ...base, scopes: 'read' }], // a typo must not silently request no scope
    ['tokenEndpointTimeoutMS', { ...base, tokenEndpointTimeoutMS: 1000 }],
    ['scope[1]', { ...base, scope: ['read', 1] }],
    ['scope[0]', { ...base, scope: ['has space'] }],
    ['issuer', { clientId: 'w', clientSecret: 'x', issuer: 'https://idp.example/?tenant=a' }],
    ['issuer', { clientId: 'w', clientSecret: 'x', issuer: 'https://u:p@idp.example' }],
    ['tokenUrl', { ...base, tokenUrl: null }],
    ['tokenUrl', { ...base, tokenUrl: 'https://idp.example/token#frag' }],
    ['audience', { ...base, audience: null }],
    ['store', { ...base, store: null }],
    ['store', { ...base, store: Object.assign(Object.create(memoryTokenStore()), { offer: 1 }) }],
    ['dispatcher', { ...base, dispatcher: {} }],
    ['logError', { ...base, logError: 'console' }],
    ['credential', { ...base, clientId: 'client id with spaces' }],
    ['leaseMs', { ...base, leaseMs: Number.NaN }],
    ['hardSkewMs', { ...base, hardSkewMs: Number.POSITIVE_INFINITY }],
    ['options', 'https://idp.example/token'],
  ])('rejects %s, naming it', (field, options) => {
    expect(fieldOf(() => clientCredentials(options as never))).toBe(field);
  });

  it('never echoes a secret given with the wrong type', () => {
    try {
      clientCredentials({ ...base, clientSecret: 987654321 } as never);
      throw new Error('expected an InvalidConfigurationError');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigurationError);
      expect((error as InvalidConfigurationError).field).toBe('clientSecret');
      expect((error as Error).message).not.toContain('987654321');
    }
  });

  it('accepts a query in tokenUrl, an undici Agent and an explicit scope list', async () => {
    const dispatcher = new Agent();
    const auth = clientCredentials({
      ...base,
      tokenUrl: 'https://idp.example/token?p=policy',
      dispatcher,
      scope: ['a', 'b:c'],
    });
    await auth.close();
    await dispatcher.close();
  });
});

/** The field of the InvalidConfigurationError `build` throws; `secret` never in its message. */
function redisField(build: () => unknown, secret = 'pw-secret'): string {
  try {
    const store = build() as TokenStore;
    void store.detach();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as Error).message).not.toContain(secret);
    return (error as InvalidConfigurationError).field;
  }
  throw new Error('expected an InvalidConfigurationError');
}

const REFUSED = 'redis://127.0.0.1:1';

describe('redisTokenStore options', () => {
  it.each([
    ['options', undefined],
    ['options', null],
    ['url', {}],
    ['clusterNodes', { url: REFUSED, clusterNodes: [REFUSED] }],
    ['url', { url: null }],
    ['url', { url: 42 }],
    ['clusterNodes', { clusterNodes: REFUSED }],
    ['clusterNodes', { clusterNodes: [] }],
    ['clusterNodes[0]', { clusterNodes: [42] }],
    ['clusterNodes[1]', { clusterNodes: [REFUSED, 'http://127.0.0.1:2'] }],
    ['clusterNodes[0]', { clusterNodes: [`${REFUSED}/2`] }],
    ['clusterNodes', { clusterNodes: [REFUSED, 'rediss://127.0.0.1:2'] }],
    ['client', { client: {} }],
    ['client', { client: { status: 'ready' } }],
    ['client', { client: null }],
    ['url', { url: `${REFUSED}/abc` }],
    ['url', { url: `${REFUSED}/-1` }],
    ['url', { url: `${REFUSED}/1.5` }],
    ['url', { url: `${REFUSED}/70000` }],
    ['url', { url: `${REFUSED}/1/2` }],
    ['url', { url: `${REFUSED}/0?tls=true` }],
    ['url', { url: 'redis://127.0.0.1:0' }],
    ['url', { url: 'redis://user:pw-secret%zz@127.0.0.1:1' }],
    ['url', { url: 'redis://user:pw-secret%E0%A4%A@127.0.0.1:1' }],
    ['url', { url: 'redis://pw-secret%@127.0.0.1:1' }],
    ['tls', { url: REFUSED, tls: { rejectUnauthorized: false } }],
    ['tls', { url: 'rediss://127.0.0.1:1', tls: 'yes' }],
    ['keyPrefix', { url: REFUSED, keyPrefix: null }],
    ['keyPrefix', { url: REFUSED, keyPrefix: 'a b' }],
    ['keyPrefix', { url: REFUSED, keyPrefix: 'x'.repeat(129) }],
    ['pubsub', { url: REFUSED, pubsub: null }],
    ['pubsub', { url: REFUSED, pubsub: 'false' }],
    ['commandTimeoutMs', { url: REFUSED, commandTimeoutMs: null }],
    ['commandTimeoutMs', { url: REFUSED, commandTimeoutMs: 1.5 }],
    ['connectTimeoutMs', { url: REFUSED, connectTimeoutMs: 60_001 }],
    ['commandTimeoutMS', { url: REFUSED, commandTimeoutMS: 100 }],
    ['keyprefix', { url: REFUSED, keyprefix: 'x:' }],
  ])('rejects %s: %o', (field, options) => {
    expect(redisField(() => redisTokenStore(options as never))).toBe(field);
  });

  it.each([
    ['43 characters of "a" (base64 without padding)', 'a'.repeat(43)],
    ['non-canonical base64 (unused bits set)', `${'a'.repeat(43)}=`],
    ['base64 of 31 bytes', randomBytes(31).toString('base64')],
    ['base64 of 33 bytes', randomBytes(33).toString('base64')],
    ['base64url', `${'-_'.repeat(21)}A=`],
    ['base64 with a trailing newline', `${randomBytes(32).toString('base64')}\n`],
    ['63 hex digits', 'f'.repeat(63)],
    ['65 hex digits', 'f'.repeat(65)],
    ['31 bytes', new Uint8Array(31)],
    ['33 bytes', new Uint8Array(33)],
    ['a number', 123456789],
    ['null', null],
    ['an array of 32 numbers', Array.from({ length: 32 }, () => 1)],
  ])('rejects an encryptionKey of %s without echoing it', (_name, key) => {
    // A key is never shown: neither a string key nor a number (null or an array: nothing to hide).
    const shown =
      typeof key === 'string' ? key.trim() : typeof key === 'number' ? String(key) : '\u0000';
    expect(
      redisField(() => redisTokenStore({ url: REFUSED, encryptionKey: key as never }), shown),
    ).toBe('encryptionKey');
  });

  it.each([
    ['padded base64 of 32 bytes', randomBytes(32).toString('base64')],
    ['canonical base64 of zeros', `${'A'.repeat(43)}=`],
    ['64 hex digits', randomBytes(32).toString('hex')],
    ['a Uint8Array of 32 bytes', new Uint8Array(32)],
    ['a Buffer of 32 bytes', randomBytes(32)],
  ])('accepts an encryptionKey of %s', async (_name, key) => {
    const store = redisTokenStore({ url: REFUSED, encryptionKey: key });
    await store.detach();
  });

  it.each([
    `${REFUSED}/0`,
    `${REFUSED}/15`,
    `${REFUSED}/`,
    'redis://user:p%40ss@127.0.0.1:1',
    'rediss://127.0.0.1:1',
  ])('accepts the URL %s', async (url) => {
    const store = redisTokenStore({ url, keyPrefix: '' });
    await store.detach();
  });

  it('accepts an ioredis client it is given, and leaves it open', async () => {
    const client = new Redis({ lazyConnect: true, port: 1 });
    const store = redisTokenStore({ client, keyPrefix: 'mine:' });
    await store.detach();
    expect(client.status).not.toBe('end');
    client.disconnect();
  });
});

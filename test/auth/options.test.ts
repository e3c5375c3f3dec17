import { describe, expect, it } from 'vitest';
import { clientCredentials } from '../../src/auth/index.js';
import { redisTokenStore } from '../../src/auth/store/redis.js';
import { InvalidConfigurationError } from '../../src/errors.js';

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
    ['clientAuthMethod', { ...base, clientAuthMethod: 'private_key_jwt' }],
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
});

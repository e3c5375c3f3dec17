/**
 * How the Redis store connects: ACL users and TLS through the URL, a wrong password never
 * failing a call, and nothing left behind after close.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisTokenStore } from '../../packages/redis/src/redis-token-store.js';
import { clientCredentials } from '../../packages/steadfast/src/auth/index.js';
import { type OAuthStack, startOAuthStack } from '../helpers/oauth.js';
import { freePort, type RedisInstance, startRedis } from '../helpers/redis.js';

let stack: OAuthStack;
let redis: RedisInstance;
let tlsRedis: RedisInstance;
let tlsPort: number;
let certDir: string;

function makeCertificates(dir: string): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    'redis.key',
    '-out',
    'redis.csr',
  );
  execFileSync('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1" > san.ext'], { cwd: dir });
  run(
    'x509',
    '-req',
    '-in',
    'redis.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'san.ext',
    '-out',
    'redis.crt',
  );
}

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'steadfast-tls-'));
  makeCertificates(certDir);
  tlsPort = await freePort();
  [stack, redis, tlsRedis] = await Promise.all([
    startOAuthStack(),
    startRedis(),
    startRedis({
      args: [
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        join(certDir, 'redis.crt'),
        '--tls-key-file',
        join(certDir, 'redis.key'),
        '--tls-ca-cert-file',
        join(certDir, 'ca.crt'),
        '--tls-auth-clients',
        'no',
      ],
    }),
  ]);
  // An ACL user confined to its key prefix and channels: proves every key and channel the
  // store uses carries the prefix.
  await redis.cli(
    'ACL',
    'SETUSER',
    'tokens',
    'on',
    '>tokens-pass',
    '~acl:*',
    '&acl:*',
    '+@all',
    '-@dangerous',
  );
}, 60_000);
afterAll(async () => {
  await Promise.all([stack?.close(), redis?.stop(), tlsRedis?.stop()]);
  rmSync(certDir, { recursive: true, force: true });
});

const authOptions = () => ({
  tokenUrl: stack.tokenUrl,
  clientId: stack.client.clientId,
  clientSecret: stack.client.clientSecret,
  scope: stack.client.scope,
});

describe('the Redis store connection', () => {
  it('works as an ACL user confined to its prefix, given in the URL', async () => {
    const store = redisTokenStore({
      url: `redis://tokens:tokens-pass@127.0.0.1:${redis.port}`,
      keyPrefix: 'acl:',
    });
    const auth = clientCredentials({ ...authOptions(), store });
    const states: boolean[] = [];
    auth.tokenEvents.storeState.event((e) => states.push(e.up));
    try {
      await auth.getToken();
      expect(states).toEqual([true]); // reported up once, never down
      expect((await redis.cli('KEYS', 'acl:tok:*')).trim()).not.toBe('');
    } finally {
      await auth.close();
    }
  });

  it('keeps working alone when the password is wrong, and says the store is down', async () => {
    const store = redisTokenStore({
      url: `redis://tokens:wrong-pass@127.0.0.1:${redis.port}`,
      keyPrefix: 'acl:',
    });
    const auth = clientCredentials({ ...authOptions(), store, credential: 'wrong-password' });
    const states: boolean[] = [];
    auth.tokenEvents.storeState.event((e) => states.push(e.up));
    try {
      expect((await auth.getToken()).type).toBe('Bearer');
      expect(states).toEqual([false]);
    } finally {
      await auth.close();
    }
  });

  it('speaks TLS with rediss:// and a private CA', async () => {
    const store = redisTokenStore({
      url: `rediss://127.0.0.1:${tlsPort}`,
      keyPrefix: 'tls:',
      tls: { ca: readFileSync(join(certDir, 'ca.crt')) },
    });
    const auth = clientCredentials({ ...authOptions(), store });
    const states: boolean[] = [];
    auth.tokenEvents.storeState.event((e) => states.push(e.up));
    try {
      await auth.getToken();
      expect(states).toEqual([true]);
      expect((await tlsRedis.cli('KEYS', 'tls:tok:*')).trim()).not.toBe('');
    } finally {
      await auth.close();
    }
  });

  it('leaves no socket or timer behind after close', async () => {
    const before = process.getActiveResourcesInfo();
    const count = (list: string[], kind: string) => list.filter((r) => r === kind).length;
    const store = redisTokenStore({ url: redis.url, keyPrefix: 'close:' });
    const auth = clientCredentials({ ...authOptions(), store });
    await auth.getToken(); // connects, subscribes for announcements
    await auth.close();
    await new Promise((r) => setTimeout(r, 100)); // sockets finish closing
    const after = process.getActiveResourcesInfo();
    expect(count(after, 'TCPSocketWrap')).toBeLessThanOrEqual(count(before, 'TCPSocketWrap'));
    expect(count(after, 'Timeout')).toBeLessThanOrEqual(count(before, 'Timeout'));
  });

  it('treats a db the server does not have as a store that is down, never writing to db 0', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const store = redisTokenStore({ url: `${redis.url}/999`, keyPrefix: 'nodb:' });
    const auth = clientCredentials({ ...authOptions(), store, credential: 'missing-db' });
    const states: boolean[] = [];
    auth.tokenEvents.storeState.event((e) => states.push(e.up));
    try {
      expect((await auth.getToken()).type).toBe('Bearer'); // works alone
      expect(states).toEqual([false]);
      expect((await redis.cli('KEYS', 'nodb:*')).trim()).toBe('');
      await new Promise((r) => setTimeout(r, 200)); // a reconnect would re-send SELECT
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await auth.close();
    }
  });

  it('uses the db of the URL', async () => {
    const store = redisTokenStore({ url: `${redis.url}/3`, keyPrefix: 'db3:' });
    const auth = clientCredentials({ ...authOptions(), store, credential: 'db-three' });
    try {
      await auth.getToken();
      expect((await redis.cli('-n', '3', 'KEYS', 'db3:tok:*')).trim()).not.toBe('');
      expect((await redis.cli('KEYS', 'db3:*')).trim()).toBe('');
    } finally {
      await auth.close();
    }
  });
});

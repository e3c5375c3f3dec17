/**
 * 401s for one token share one store invalidation: concurrent ones, ones that arrive while
 * the replacement is being fetched, and ones that arrive after the process already dropped
 * the token. Real IdP (slowed down by its fault gate), private redis-server, invalidation
 * scripts counted with MONITOR.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisTokenStore } from '../../packages/redis/src/redis-token-store.js';
import { INVALIDATE_SCRIPT } from '../../packages/redis/src/scripts.js';
import { clientCredentials } from '../../packages/steadfast/src/auth/index.js';
import { type OAuthStack, startOAuthStack } from '../helpers/oauth.js';
import { type RedisInstance, startRedis } from '../helpers/redis.js';
import { monitorScripts, type ScriptMonitor } from './script-monitor.js';

let stack: OAuthStack;
let redis: RedisInstance;
let scripts: ScriptMonitor;
let prefix = 0;

beforeAll(async () => {
  [stack, redis] = await Promise.all([startOAuthStack(), startRedis()]);
  scripts = await monitorScripts(redis.url);
});
afterEach(() => {
  stack.setFault({ kind: 'none' });
});
afterAll(async () => {
  await scripts?.close();
  await redis?.stop();
  await stack?.close();
});

function authorization() {
  prefix += 1;
  return clientCredentials({
    tokenUrl: stack.tokenUrl,
    clientId: stack.client.clientId,
    clientSecret: stack.client.clientSecret,
    scope: stack.client.scope,
    store: redisTokenStore({ url: redis.url, keyPrefix: `inv${prefix}:` }),
  });
}

describe('401s for the same token', () => {
  it('cost one store invalidation, also while the new token is being fetched and after the token was dropped', async () => {
    const auth = authorization();
    try {
      const rejected = await auth.getToken();
      // The replacement takes a while: the 401s of calls still in flight arrive meanwhile.
      stack.setFault({ kind: 'delay', delayMs: 800 });
      const tokensBefore = stack.tokenRequests();
      scripts.reset();

      const first = await Promise.all(
        Array.from({ length: 10 }, () => auth.invalidateToken(rejected.fingerprint)),
      );
      expect(new Set(first)).toEqual(new Set(['deleted']));
      const replacement = auth.getToken(); // the single flight, now waiting for the IdP
      const late: string[] = [];
      for (let i = 0; i < 20; i++) late.push(await auth.invalidateToken(rejected.fingerprint));
      late.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, () => auth.invalidateToken(rejected.fingerprint)),
        )),
      );
      const next = await replacement;
      // After the new token is in: a 401 for the old one is stale, absorbed locally.
      expect(await auth.invalidateToken(rejected.fingerprint)).toBe('newer_present');

      expect(next.fingerprint).not.toBe(rejected.fingerprint);
      // The late 401s share the one invalidation and its outcome; none of them reached Redis.
      await scripts.settle();
      expect(scripts.count(INVALIDATE_SCRIPT)).toBe(1);
      expect(new Set(late)).toEqual(new Set(['deleted']));
      expect(stack.tokenRequests() - tokensBefore).toBe(1);
    } finally {
      await auth.close();
    }
  });

  it('sends a 401 to the store again for a token the store handed out again', async () => {
    const auth = authorization();
    const writer = redisTokenStore({ url: redis.url, keyPrefix: `inv${prefix}:` });
    writer.attach();
    try {
      const token = await auth.getToken();
      const [key] = (await redis.cli('KEYS', `inv${prefix}:tok:*`)).trim().split('\n');
      const k = /\{(.+)\}/.exec(key!)![1]!;
      scripts.reset();
      expect(await auth.invalidateToken(token.fingerprint)).toBe('deleted');
      // Another instance writes the same token back (e.g. it offers it after an outage).
      const fence = await writer.acquire(k, 'other', 1000);
      const record = { ...token, issuedAt: Date.now(), lifetimeMs: 300_000, generation: fence };
      expect(await writer.publish(k, 'other', fence, record, 60_000)).toBe(true);
      expect((await auth.getToken()).fingerprint).toBe(token.fingerprint); // adopted again
      expect(await auth.invalidateToken(token.fingerprint)).toBe('deleted');
      await scripts.settle();
      expect(scripts.count(INVALIDATE_SCRIPT)).toBe(2);
    } finally {
      await writer.detach();
      await auth.close();
    }
  });
});

/**
 * The Redis store listens to its connection's 'ready' (a reconnection is a hint that an
 * outage is over). On a client the application owns, those listeners must go when the last
 * authorization using the store closes, however many there were.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisTokenStore } from '../../packages/redis/src/redis-token-store.js';
import { clientCredentials } from '../../packages/steadfast/src/auth/index.js';
import { type OAuthStack, startOAuthStack } from '../helpers/oauth.js';
import { type RedisInstance, startRedis } from '../helpers/redis.js';

let stack: OAuthStack;
let redis: RedisInstance;
beforeAll(async () => {
  [stack, redis] = await Promise.all([startOAuthStack(), startRedis()]);
});
afterAll(async () => {
  await redis?.stop();
  await stack?.close();
});

describe('a Redis store on a client the application owns', () => {
  it('leaves no listener on the client once every authorization using it is closed', async () => {
    const client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const before = client.listenerCount('ready');
      const store = redisTokenStore({ client, keyPrefix: 'owned:' });
      const options = {
        tokenUrl: stack.tokenUrl,
        clientId: stack.client.clientId,
        clientSecret: stack.client.clientSecret,
        store,
      };
      // Two credentials (another scope): two token managers on one store and one connection.
      const first = clientCredentials({ ...options, scope: stack.client.scope });
      const second = clientCredentials({ ...options, scope: 'other.scope' });
      await Promise.all([first.getToken(), second.getToken()]);
      expect(client.listenerCount('ready')).toBe(before + 1); // one, shared
      await first.close();
      expect(client.listenerCount('ready')).toBe(before + 1);
      await second.close();
      expect(client.listenerCount('ready')).toBe(before);
      expect(client.status).toBe('ready'); // not ours to close
    } finally {
      client.disconnect();
    }
  });
});

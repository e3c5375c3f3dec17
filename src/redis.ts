/**
 * `steadfast/redis`: the Redis token store, behind its own entry point so that a plain
 * `import 'steadfast'` does not load ioredis.
 *
 * @example
 * import { createClient, clientCredentials } from 'steadfast';
 * import { redisTokenStore } from 'steadfast/redis';
 * const auth = clientCredentials({ ..., store: redisTokenStore({ url: process.env.REDIS_URL }) });
 */
export { type RedisTokenStoreOptions, redisTokenStore } from './auth/store/redis.js';

/**
 * `@steadfast/redis`: the Redis token store. A fleet of workers sharing it makes one token
 * request per rotation, whatever its size.
 *
 * @example
 * import { clientCredentials } from 'steadfast';
 * import { redisTokenStore } from '@steadfast/redis';
 * const auth = clientCredentials({ ..., store: redisTokenStore({ url: process.env.REDIS_URL }) });
 */
export {
  type RedisFleetStore,
  type RedisTokenStoreOptions,
  redisTokenStore,
} from './redis-token-store.js';

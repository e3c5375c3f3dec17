import { randomBytes } from 'node:crypto';
import { redisServerAvailable, startPrivateRedis } from './private-redis.js';

/** Where the fleet shares its token. */
export type RedisMode = 'auto' | 'private' | 'none';

/** The choice made, and what to undo at the end. */
export interface TokenSharing {
  /** The Redis the workers use; none means each keeps its token in memory. */
  readonly redisUrl?: string;
  /** Key prefix of this run, on a Redis that is not ours. */
  readonly keyPrefix?: string;
  /** One line for the view and the summary. */
  readonly description: string;
  /** Stops what was started (a private redis-server). */
  readonly stop?: () => Promise<void>;
}

/**
 * Pick where the fleet shares its token: the given Redis (keys under a prefix of this run,
 * nothing flushed), else a private redis-server when one is on PATH, else the in-memory
 * store with a warning. `private` requires redis-server; `none` forces the in-memory store.
 */
export async function chooseTokenSharing(
  mode: RedisMode,
  redisUrl: string | undefined,
  warn: (text: string) => void,
): Promise<TokenSharing> {
  if (mode !== 'none' && redisUrl) {
    const keyPrefix = `steadfast-demo:${randomBytes(4).toString('hex')}:`;
    return {
      redisUrl,
      keyPrefix,
      description: `Redis from REDIS_URL (keys under ${keyPrefix})`,
    };
  }
  if (mode !== 'none' && redisServerAvailable()) {
    const redis = await startPrivateRedis();
    return {
      redisUrl: redis.url,
      description: `private redis-server on ${redis.url} (pid ${redis.pid})`,
      stop: () => redis.stop(),
    };
  }
  if (mode === 'private') throw new Error('--redis private: redis-server is not on PATH');
  const why = mode === 'none' ? '--redis none' : 'no REDIS_URL and no redis-server on PATH';
  warn(
    `WARNING: in-memory token store (${why}): the workers do not share their token;\n` +
      '         expect one token fetch per worker instead of one for the fleet.\n',
  );
  return { description: 'NONE: in-memory store, each worker fetches its own token' };
}

import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { InvalidConfigurationError } from '../../errors.js';

/** Options of {@link redisTokenStore}. Give exactly one of `url`, `clusterNodes` or `client`. */
export interface RedisTokenStoreOptions {
  /**
   * `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. ACL users go in the
   * userinfo. The store opens (and closes) its own fail-fast connection.
   */
  readonly url?: string;
  /** Seed node URLs of a Redis Cluster (same syntax as `url`, TLS and ACL included). */
  readonly clusterNodes?: readonly string[];
  /**
   * An ioredis client or cluster you manage (the store never closes it). Configure it to
   * fail fast (`enableOfflineQueue: false`, `commandTimeout`, `maxRetriesPerRequest: 0`);
   * the token manager also bounds every operation by `commandTimeoutMs`.
   */
  readonly client?: Redis | Cluster;
  /** Prefix of every key and channel, to namespace apps and environments. Default: `steadfast:`. */
  readonly keyPrefix?: string;
  /**
   * AES-256-GCM key for token records at rest: 32 bytes, or a string of 64 hex digits or
   * base64 of 32 bytes. Default: none (records are plain JSON; the client secret is never
   * stored either way). Every instance of the fleet needs the same key.
   */
  readonly encryptionKey?: string | Uint8Array;
  /** Per-command timeout (ms); a frozen Redis costs at most this per call path. Default: 200. */
  readonly commandTimeoutMs?: number;
  /** Connection timeout (ms). Default: 1000 (1 s). */
  readonly connectTimeoutMs?: number;
  /**
   * Extra TLS options for `rediss://` URLs and cluster nodes, e.g. `{ ca }` for a private CA.
   * Default: none (Node's default trust store, server name from the URL).
   */
  readonly tls?: ConnectionOptions;
  /** Subscribe to "new token" announcements (a hint that wakes waiters early). Default: true. */
  readonly pubsub?: boolean;
}

const DEFAULTS = {
  keyPrefix: 'steadfast:',
  commandTimeoutMs: 200, // 200 ms: fail fast, never block a call on Redis
  connectTimeoutMs: 1000, // 1 s
  pubsub: true,
} as const;

const COMMAND_TIMEOUT_BACKSTOP_MS = 1000; // 1 s beyond the manager's own bound

/** What the store needs once its options are checked. */
export interface RedisStoreSettings {
  readonly prefix: string;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly pubsub: boolean;
  readonly encryptionKey: Buffer | undefined;
  /** The connection to use, and whether the store opened it (and so closes it). */
  readonly client: Redis | Cluster;
  readonly ownsClient: boolean;
}

/** ioredis options that make a dead or frozen Redis fail fast instead of queueing. */
function failFastOptions(commandTimeoutMs: number, connectTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false, // a disconnected Redis fails at once instead of queueing
    maxRetriesPerRequest: 0, // no per-command retries: the token manager has its own plan
    // The token manager bounds each operation itself (see StoreGuard); ioredis's own
    // timeout is a backstop that frees commands a frozen Redis never answers.
    commandTimeout: commandTimeoutMs + COMMAND_TIMEOUT_BACKSTOP_MS,
    connectTimeout: connectTimeoutMs,
    enableReadyCheck: true,
    // Reconnect quickly at first, then every 2 s: recovery is noticed within seconds.
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
  };
}

function nodeFromUrl(
  field: string,
  value: string,
  tls: ConnectionOptions | undefined,
): { host: string; port: number; options: RedisOptions } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidConfigurationError(
      field,
      'is not a valid URL (expected redis://host:port or rediss://host:port)',
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InvalidConfigurationError(
      field,
      `must use redis:// or rediss://, got ${url.protocol}//`,
    );
  }
  const options: RedisOptions = {};
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') options.tls = { servername: url.hostname, ...tls };
  const db = url.pathname.replace('/', '');
  if (db) options.db = Number(db);
  return { host: url.hostname, port: url.port ? Number(url.port) : 6379, options };
}

function parseEncryptionKey(value: string | Uint8Array | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  let key: Buffer;
  if (typeof value === 'string') {
    key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  } else {
    key = Buffer.from(value);
  }
  if (key.length !== 32) {
    throw new InvalidConfigurationError(
      'encryptionKey',
      'must be 32 bytes (a Uint8Array, 64 hex digits, or base64 of 32 bytes) for AES-256-GCM',
    );
  }
  return key;
}

function positiveInteger(field: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidConfigurationError(field, `must be an integer in [1, ${max}], got ${value}`);
  }
  return value;
}

/**
 * Checks the options of {@link redisTokenStore} and opens the connection (unless the
 * caller gave its own client). Throws `InvalidConfigurationError` naming the field.
 */
export function redisStoreSettings(options: RedisTokenStoreOptions): RedisStoreSettings {
  const given = [options.url, options.clusterNodes, options.client].filter((v) => v !== undefined);
  if (given.length !== 1) {
    throw new InvalidConfigurationError(
      'url',
      'give exactly one of `url`, `clusterNodes` or `client`',
    );
  }
  const prefix = options.keyPrefix ?? DEFAULTS.keyPrefix;
  if (typeof prefix !== 'string' || /[{}\s]/.test(prefix) || prefix.length > 128) {
    throw new InvalidConfigurationError(
      'keyPrefix',
      'must be a string of at most 128 characters without braces or spaces (braces would break the Redis Cluster hash tag)',
    );
  }
  const commandTimeoutMs = positiveInteger(
    'commandTimeoutMs',
    options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs,
    60_000,
  );
  const connectTimeoutMs = positiveInteger(
    'connectTimeoutMs',
    options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    60_000,
  );
  const encryptionKey = parseEncryptionKey(options.encryptionKey);
  const pubsub = options.pubsub ?? DEFAULTS.pubsub;
  const base = { prefix, commandTimeoutMs, connectTimeoutMs, pubsub, encryptionKey };

  const failFast = failFastOptions(commandTimeoutMs, connectTimeoutMs);
  if (options.client) return { ...base, client: options.client, ownsClient: false };
  if (options.url !== undefined) {
    const node = nodeFromUrl('url', options.url, options.tls);
    const client = new Redis({ ...failFast, ...node.options, host: node.host, port: node.port });
    return { ...base, client, ownsClient: true };
  }
  const seeds = options.clusterNodes ?? [];
  if (seeds.length === 0)
    throw new InvalidConfigurationError('clusterNodes', 'must list at least one node URL');
  const nodes = seeds.map((seed, i) => nodeFromUrl(`clusterNodes[${i}]`, seed, options.tls));
  const client = new Cluster(
    nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      enableOfflineQueue: false,
      redisOptions: { ...failFast, ...nodes[0]!.options },
      clusterRetryStrategy: (times) => Math.min(100 * 2 ** times, 2000),
      slotsRefreshTimeout: connectTimeoutMs,
    },
  );
  return { ...base, client, ownsClient: true };
}

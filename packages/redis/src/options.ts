// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (options.ts)

import type { ConnectionOptions } from 'node:tls';
import type { Cluster, Redis } from 'ioredis';

export { MAX_DB, type RedisStoreSettings, redisStoreSettings } from './options-schema.js';

/** Options of {@link redisTokenStore}. Give exactly one of `url`, `clusterNodes` or `client`. */
export interface RedisTokenStoreOptions {
  /**
   * `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. ACL users go in the userinfo
   * (percent-encode reserved characters of the password); `db` is an integer 0–{@link MAX_DB}
   * (default 0). No query or fragment. The store opens (and closes) its own fail-fast connection.
   *
   * @defaultValue none
   */
  readonly url?: string;
  /**
   * Seed node URLs of a Redis Cluster (same syntax as `url`, TLS and ACL included; a cluster has
   * only db 0). An array of 1–64 URLs.
   *
   * @defaultValue none
   */
  readonly clusterNodes?: readonly string[];
  /**
   * An ioredis `Redis` or `Cluster` you manage (the store never closes it). Configure it to fail
   * fast (`enableOfflineQueue: false`, `commandTimeout`, `maxRetriesPerRequest: 0`); the token
   * manager also bounds every operation by `commandTimeoutMs`.
   *
   * @defaultValue none
   */
  readonly client?: Redis | Cluster;
  /**
   * Prefix of every key and channel, to namespace apps and environments: at most 128 characters,
   * no braces or whitespace.
   *
   * @defaultValue `'steadfast:'`
   */
  readonly keyPrefix?: string;
  /**
   * AES-256-GCM key for token records at rest: a Uint8Array of exactly 32 bytes, or a string of 64
   * hex digits, or canonical padded base64 of 32 bytes (44 characters, as `openssl rand -base64
   * 32` prints). Every instance of the fleet needs the same key.
   *
   * @defaultValue none (records are plain JSON; the client secret is never stored either way)
   */
  readonly encryptionKey?: string | Uint8Array;
  /**
   * Per-command timeout, in ms, in [1, 60 000]; a frozen Redis costs at most this per call path.
   *
   * @defaultValue `200` (200 ms)
   */
  readonly commandTimeoutMs?: number;
  /**
   * Connection timeout, in ms, in [1, 60 000].
   *
   * @defaultValue `1_000` (1 s)
   */
  readonly connectTimeoutMs?: number;
  /**
   * Extra TLS options for `rediss://` URLs and cluster nodes, e.g. `{ ca }` for a private CA; only
   * with a `rediss://` URL.
   *
   * @defaultValue none (Node's default trust store, server name from the URL)
   */
  readonly tls?: ConnectionOptions;
  /**
   * Subscribe to "new token" announcements (a hint that wakes waiters early). Cooldown notices use
   * pub/sub whatever this says: a pause must reach every instance at once.
   *
   * @defaultValue `true`
   */
  readonly pubsub?: boolean;
}

import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import {
  booleanOption,
  customOption,
  describeType,
  numberOption,
  optionsObject,
  parseOptions,
  plainObject,
  textOption,
} from 'steadfast/options';
import type { RedisTokenStoreOptions } from './options.js';

/**
 * The options of `redisTokenStore`, each declared once: type, default, range and prose.
 * options.ts (the documented `RedisTokenStoreOptions`) is generated from it.
 */

const COMMAND_TIMEOUT_BACKSTOP_MS = 1000; // 1 s beyond the manager's own bound

/**
 * Highest `db` accepted in a URL. Redis has 16 databases unless configured otherwise; a
 * db the server does not have makes the store unusable (reported as down), never a crash.
 */
export const MAX_DB = 65_535;
const MAX_CLUSTER_NODES = 64;

/** What the store calls on a client it is given: how an ioredis Redis or Cluster is recognised. */
const CLIENT_METHODS = ['defineCommand', 'duplicate', 'on', 'once', 'off', 'disconnect'] as const;

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

interface RedisNode {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly options: RedisOptions;
}

/** What is wrong with a connection URL: the store's options report it under the URL's field. */
class UrlProblem {
  constructor(readonly rule: string) {}
}

/** A %-decoded userinfo part; a bad escape is a configuration error, not a `URIError`. */
function userinfoPart(part: 'user name' | 'password', raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new UrlProblem(
      `has a malformed %-escape in its ${part} (percent-encode reserved characters, e.g. %40 for @)`,
    );
  }
}

/**
 * One `redis://` or `rediss://` URL. Never quoted back: it may carry a password. The db is
 * checked here because ioredis would send `SELECT NaN` for `/abc` and crash the process
 * with an unhandled `ReplyError` on the next reconnect.
 */
function nodeFromUrl(value: unknown, cluster: boolean): RedisNode {
  if (typeof value !== 'string') {
    throw new UrlProblem(`must be a redis:// or rediss:// URL string, got ${describeType(value)}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UrlProblem('is not a valid URL (expected redis://host:port or rediss://host:port)');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UrlProblem(`must use redis:// or rediss://, got ${url.protocol}//`);
  }
  if (!url.hostname) throw new UrlProblem('must name a host');
  if (url.search || url.hash || value.includes('?') || value.includes('#')) {
    throw new UrlProblem('must not have a query or fragment (give TLS settings in `tls`)');
  }
  const options: RedisOptions = {};
  if (url.username) options.username = userinfoPart('user name', url.username);
  if (url.password) options.password = userinfoPart('password', url.password);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '') {
    const db = /^\d{1,5}$/.test(path) ? Number(path) : Number.NaN;
    if (!(db >= 0 && db <= MAX_DB)) {
      throw new UrlProblem(
        `must end in /db with db an integer in [0, ${MAX_DB}], or in nothing (db 0)`,
      );
    }
    if (cluster && db !== 0) {
      throw new UrlProblem('a Redis Cluster has only db 0');
    }
    if (db !== 0) options.db = db;
  }
  // `new URL` checked the port is at most 65535; an empty one is the default.
  const port = url.port ? Number(url.port) : 6379;
  if (port === 0) throw new UrlProblem('must name a port in [1, 65535]');
  return { host: url.hostname, port, tls: url.protocol === 'rediss:', options };
}

/**
 * AES-256-GCM needs exactly 32 bytes. Strings are decoded strictly: 64 hex digits, or
 * canonical padded base64 of 32 bytes. Node's lenient base64 decoder would turn 43 `a`s
 * (or any typo) into some 32 bytes, and a fleet whose instances decode different keys
 * silently stops sharing tokens. Messages never show the key.
 */
function decodeEncryptionKey(value: unknown): Buffer | string {
  const rule =
    'must be 32 bytes for AES-256-GCM: a Uint8Array of length 32, 64 hex digits, or padded base64 of 32 bytes (44 characters)';
  if (value instanceof Uint8Array) {
    return value.length === 32 ? Buffer.from(value) : `${rule}; got ${value.length} bytes`;
  }
  if (typeof value !== 'string') return `${rule}; got ${describeType(value)}`;
  if (/^[0-9a-f]{64}$/i.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(value)) {
    const key = Buffer.from(value, 'base64');
    // Canonical: the unused low bits of the last character are zero, so the text
    // round-trips and exactly one string stands for each key.
    if (key.length === 32 && key.toString('base64') === value) return key;
  }
  return `${rule}; got a string of ${value.length} characters that is neither`;
}

/** A connection URL's problem, or `undefined`. */
function urlProblem(value: unknown, cluster: boolean): string | undefined {
  try {
    nodeFromUrl(value, cluster);
    return undefined;
  } catch (error) {
    if (error instanceof UrlProblem) return error.rule;
    throw error;
  }
}

const TLS_SCHEME = /^rediss:/i;

const timeoutMs = (defaultMs: number, doc: string) =>
  numberOption({ default: defaultMs, min: 1, max: 60_000, integer: true, doc });

export const redisTokenStoreOptionsSchema = optionsObject(
  'RedisTokenStoreOptions',
  'Options of {@link redisTokenStore}. Give exactly one of `url`, `clusterNodes` or `client`.',
  {
    url: customOption<string>((value) => urlProblem(value, false), {
      type: 'string',
      doc: `\`redis://[user:password@]host:port[/db]\` or \`rediss://…\` for TLS. ACL users go in the userinfo (percent-encode reserved characters of the password); \`db\` is an integer 0–{@link MAX_DB} (default 0). No query or fragment. The store opens (and closes) its own fail-fast connection.`,
    }),
    clusterNodes: customOption<readonly string[]>(
      (value) => {
        if (!Array.isArray(value)) {
          return `must be an array of redis:// URLs, got ${describeType(value)}`;
        }
        if (value.length === 0 || value.length > MAX_CLUSTER_NODES) {
          return `must list 1–${MAX_CLUSTER_NODES} node URLs, got ${value.length}`;
        }
        for (const [i, seed] of value.entries()) {
          const problem = urlProblem(seed, true);
          if (problem) return [i, problem];
        }
        const tls = value.map((seed) => TLS_SCHEME.test(seed as string));
        return tls.some((t) => t !== tls[0])
          ? 'must all use redis:// or all use rediss://'
          : undefined;
      },
      {
        type: 'readonly string[]',
        doc: `Seed node URLs of a Redis Cluster (same syntax as \`url\`, TLS and ACL included; a cluster has only db 0). An array of 1–${MAX_CLUSTER_NODES} URLs.`,
      },
    ),
    client: customOption<Redis | Cluster>(
      (value) =>
        value !== null &&
        typeof value === 'object' &&
        CLIENT_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function') &&
        typeof (value as { status?: unknown }).status === 'string'
          ? undefined
          : `must be an ioredis Redis or Cluster instance, got ${describeType(value)}`,
      {
        type: 'Redis | Cluster',
        doc: 'An ioredis `Redis` or `Cluster` you manage (the store never closes it). Configure it to fail fast (`enableOfflineQueue: false`, `commandTimeout`, `maxRetriesPerRequest: 0`); the token manager also bounds every operation by `commandTimeoutMs`.',
      },
    ),
    keyPrefix: textOption({
      default: 'steadfast:',
      emptyAllowed: true, // '' is a valid prefix (no namespace)
      maxLength: 128,
      pattern: /^[^{}\s]*$/,
      rule: 'without braces or whitespace (braces would break the Redis Cluster hash tag)',
      doc: 'Prefix of every key and channel, to namespace apps and environments: at most 128 characters, no braces or whitespace.',
    }),
    encryptionKey: customOption<string | Uint8Array>(
      (value) => {
        const key = decodeEncryptionKey(value);
        return typeof key === 'string' ? key : undefined;
      },
      {
        type: 'string | Uint8Array',
        doc: 'AES-256-GCM key for token records at rest: a Uint8Array of exactly 32 bytes, or a string of 64 hex digits, or canonical padded base64 of 32 bytes (44 characters, as `openssl rand -base64 32` prints). Every instance of the fleet needs the same key.',
        defaultText: 'none (records are plain JSON; the client secret is never stored either way)',
      },
    ),
    commandTimeoutMs: timeoutMs(
      200, // 200 ms: fail fast, never block a call on Redis
      'Per-command timeout, in ms, in [1, 60 000]; a frozen Redis costs at most this per call path.',
    ),
    connectTimeoutMs: timeoutMs(1000, 'Connection timeout, in ms, in [1, 60 000].'), // 1 s
    tls: plainObject<ConnectionOptions>({
      type: 'ConnectionOptions',
      doc: 'Extra TLS options for `rediss://` URLs and cluster nodes, e.g. `{ ca }` for a private CA; only with a `rediss://` URL.',
      defaultText: "none (Node's default trust store, server name from the URL)",
    }),
    pubsub: booleanOption({
      default: true,
      doc: 'Subscribe to "new token" announcements (a hint that wakes waiters early). Cooldown notices use pub/sub whatever this says: a pause must reach every instance at once.',
    }),
  },
  [
    (o) => {
      const given = (['url', 'clusterNodes', 'client'] as const).filter((k) => o[k] !== undefined);
      if (given.length === 1) return undefined;
      const also = given.length > 1 ? `, got ${given.join(' and ')}` : '';
      return [
        given[1] ?? 'url',
        `give exactly one of \`url\`, \`clusterNodes\` or \`client\`${also}`,
      ];
    },
    (o) => {
      if (o.tls === undefined) return undefined;
      const secure = TLS_SCHEME.test(o.url ?? o.clusterNodes?.[0] ?? '');
      return secure ? undefined : ['tls', 'applies to rediss:// URLs only'];
    },
  ],
);

/**
 * Checks the options of {@link redisTokenStore} the way `createClient` checks its own
 * (unknown keys, types, ranges, URLs; `null` is never "the default") and opens the
 * connection unless the caller gave a client. Throws `InvalidConfigurationError` naming
 * the field; messages never show a password or the encryption key.
 */
export function redisStoreSettings(input: RedisTokenStoreOptions): RedisStoreSettings {
  const options = parseOptions(redisTokenStoreOptionsSchema, input);
  const { commandTimeoutMs, connectTimeoutMs, tls } = options;
  const base = {
    prefix: options.keyPrefix,
    commandTimeoutMs,
    connectTimeoutMs,
    pubsub: options.pubsub,
    encryptionKey:
      options.encryptionKey === undefined
        ? undefined
        : (decodeEncryptionKey(options.encryptionKey) as Buffer),
  };
  if (options.client) return { ...base, client: options.client, ownsClient: false };

  const failFast = failFastOptions(commandTimeoutMs, connectTimeoutMs);
  if (options.url !== undefined) {
    const node = nodeFromUrl(options.url, false);
    const client = new Redis({
      ...failFast,
      ...node.options,
      ...(node.tls ? { tls: { servername: node.host, ...tls } } : {}),
      host: node.host,
      port: node.port,
    });
    return { ...base, client: closeOnFailedSelect(client), ownsClient: true };
  }

  const seeds = options.clusterNodes ?? [];
  const nodes = seeds.map((seed) => nodeFromUrl(seed, true));
  const first = nodes[0]!;
  const client = new Cluster(
    nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      enableOfflineQueue: false,
      redisOptions: {
        ...failFast,
        ...first.options,
        ...(first.tls ? { tls: { servername: first.host, ...tls } } : {}),
      },
      clusterRetryStrategy: (times) => Math.min(100 * 2 ** times, 2000),
      slotsRefreshTimeout: connectTimeoutMs,
    },
  );
  return { ...base, client, ownsClient: true };
}

/**
 * A db the server does not have fails `SELECT` when the connection opens; ioredis reports
 * it as an `error` event and would then run commands against db 0. Close the connection
 * instead: the store is then down (each instance works alone) and never writes elsewhere.
 */
function closeOnFailedSelect(client: Redis): Redis {
  client.on('error', (error: Error) => {
    if (error?.name === 'ReplyError' && /\bDB index\b/i.test(error.message)) client.disconnect();
  });
  return client;
}

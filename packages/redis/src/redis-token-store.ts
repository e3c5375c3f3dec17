import { Cluster, type Redis } from 'ioredis';
import type {
  BackoffApplied,
  BackoffPolicy,
  CooldownNotice,
  CooldownSource,
  CooldownStore,
  InvalidationResult,
  QuotaLease,
  QuotaLeaseRequest,
  QuotaStore,
  StoredToken,
  StoreReadResult,
  TokenStore,
} from 'steadfast';
import { type RedisTokenStoreOptions, redisStoreSettings } from './options.js';
import { RecordCodec } from './record-codec.js';
import { RedisCooldowns } from './redis-cooldowns.js';
import { defineQuotaScript, leaseQuota, type QuotaClient } from './redis-quota.js';
import {
  ACQUIRE_SCRIPT,
  BACKOFF_SCRIPT,
  INVALIDATE_SCRIPT,
  OFFER_SCRIPT,
  PUBLISH_SCRIPT,
  READ_SCRIPT,
  RELEASE_SCRIPT,
} from './scripts.js';

export type { RedisTokenStoreOptions } from './options.js';

/**
 * What {@link redisTokenStore} returns: one store, on one connection, for the fleet's tokens
 * (`TokenStore`), its shared quotas (`QuotaStore`, one Lua script per lease on the Redis
 * clock) and its server-driven pauses (`CooldownStore`, notices by pub/sub). Every user
 * (an authorization, a quota, a cooldown) calls `attach()` and `detach()`; the connection
 * closes after the last.
 */
export type RedisFleetStore = TokenStore & QuotaStore & CooldownStore;

interface ScriptCommands {
  steadfastTokenRead(tok: string, backoff: string): Promise<[string, number, string, number]>;
  steadfastTokenAcquire(lock: string, gen: string, owner: string, leaseMs: number): Promise<number>;
  steadfastTokenPublish(
    tok: string,
    lock: string,
    gen: string,
    backoff: string,
    fail: string,
    owner: string,
    fence: number,
    record: string,
    pttl: number,
    channel: string,
    fingerprint: string,
  ): Promise<number>;
  steadfastTokenInvalidate(tok: string, fingerprint: string): Promise<number>;
  steadfastTokenRelease(lock: string, owner: string): Promise<number>;
  steadfastTokenBackoff(
    backoff: string,
    lock: string,
    fail: string,
    reason: string,
    owner: string,
    baseMs: number,
    maxMs: number,
    jitter: number,
    atLeastMs: number,
  ): Promise<[number, number]>;
  steadfastTokenOffer(
    tok: string,
    record: string,
    pttl: number,
    channel: string,
    fingerprint: string,
  ): Promise<[string, number] | []>;
}

type ScriptedClient = (Redis | Cluster) & ScriptCommands;

function defineScripts(client: Redis | Cluster): ScriptedClient {
  const scripted = client as ScriptedClient;
  if (typeof scripted.steadfastTokenRead === 'function') return scripted;
  client.defineCommand('steadfastTokenRead', { numberOfKeys: 2, lua: READ_SCRIPT });
  client.defineCommand('steadfastTokenAcquire', { numberOfKeys: 2, lua: ACQUIRE_SCRIPT });
  client.defineCommand('steadfastTokenPublish', { numberOfKeys: 5, lua: PUBLISH_SCRIPT });
  client.defineCommand('steadfastTokenInvalidate', { numberOfKeys: 1, lua: INVALIDATE_SCRIPT });
  client.defineCommand('steadfastTokenRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  client.defineCommand('steadfastTokenBackoff', { numberOfKeys: 3, lua: BACKOFF_SCRIPT });
  client.defineCommand('steadfastTokenOffer', { numberOfKeys: 1, lua: OFFER_SCRIPT });
  return scripted;
}

class RedisTokenStore implements RedisFleetStore {
  readonly kind = 'redis';
  /** With `encryptionKey` only: a record may then carry a DPoP private key (record-codec.ts). */
  readonly confidential: boolean;
  readonly #client: ScriptedClient;
  readonly #quotaClient: QuotaClient;
  readonly #cooldowns: RedisCooldowns;
  readonly #ownsClient: boolean;
  readonly #prefix: string;
  readonly #codec: RecordCodec;
  readonly #pubsub: boolean;
  readonly #commandTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  #everReady = false;
  #readyWait: Promise<void> | undefined;
  #subscriber: Redis | Cluster | undefined;
  readonly #listeners = new Map<string, Set<(fingerprint: string) => void>>();
  readonly #reconnectListeners = new Set<() => void>();
  #users = 0;

  constructor(options: RedisTokenStoreOptions) {
    const settings = redisStoreSettings(options);
    this.#codec = new RecordCodec(settings.encryptionKey);
    this.confidential = this.#codec.encrypts;
    this.#prefix = settings.prefix;
    this.#pubsub = settings.pubsub;
    this.#commandTimeoutMs = settings.commandTimeoutMs;
    this.#connectTimeoutMs = settings.connectTimeoutMs;
    this.#ownsClient = settings.ownsClient;
    const client = settings.client;
    // Errors surface through rejected commands and the store breaker; without a listener
    // ioredis would print every reconnect failure.
    if (this.#ownsClient) client.on('error', () => {});
    if (client.status === 'ready') this.#everReady = true;
    else
      client.once('ready', () => {
        this.#everReady = true;
      });
    this.#client = defineScripts(client);
    this.#quotaClient = defineQuotaScript(client);
    this.#cooldowns = new RedisCooldowns(client, this.#prefix, () => this.#subscriberConnection());
  }

  #keys(key: string) {
    const tag = `{${key}}`;
    return {
      tok: `${this.#prefix}tok:${tag}`,
      lock: `${this.#prefix}lock:${tag}`,
      gen: `${this.#prefix}gen:${tag}`,
      backoff: `${this.#prefix}backoff:${tag}`,
      fail: `${this.#prefix}fail:${tag}`,
      channel: `${this.#prefix}events:${tag}`,
    };
  }

  /**
   * With the offline queue off, a command sent while the connection is still being set up
   * fails at once. Wait for `ready`: at most one connect timeout for the very first
   * connection (so a process that starts and calls at once still joins the fleet instead
   * of fetching its own token), at most one command timeout after that.
   */
  #ready(): Promise<void> | undefined {
    const client = this.#client;
    if (client.status === 'ready' || client.status === 'end') return undefined;
    // One shared wait (one listener) however many operations are waiting.
    this.#readyWait ??= new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        client.off('ready', done);
        this.#readyWait = undefined;
        resolve();
      };
      const timer = setTimeout(
        done,
        this.#everReady ? this.#commandTimeoutMs : this.#connectTimeoutMs,
      );
      client.once('ready', done);
    });
    return this.#readyWait;
  }

  get operationTimeoutMs(): number {
    // The manager's guard covers the wait for a ready connection plus the command.
    return (
      (this.#everReady ? this.#commandTimeoutMs : this.#connectTimeoutMs) + this.#commandTimeoutMs
    );
  }

  async read(key: string): Promise<StoreReadResult> {
    await this.#ready();
    const k = this.#keys(key);
    const [record, ttl, backoffReason, backoffTtl] = await this.#client.steadfastTokenRead(
      k.tok,
      k.backoff,
    );
    const token = record ? this.#codec.decode(k.tok, record) : undefined;
    return {
      token,
      ttlMs: token && ttl > 0 ? ttl : 0,
      backoffMs: backoffReason && backoffTtl > 0 ? backoffTtl : 0,
      backoffReason: backoffReason || undefined,
    };
  }

  async acquire(key: string, owner: string, leaseMs: number): Promise<number> {
    await this.#ready();
    const k = this.#keys(key);
    return Number(
      await this.#client.steadfastTokenAcquire(k.lock, k.gen, owner, Math.ceil(leaseMs)),
    );
  }

  async publish(
    key: string,
    owner: string,
    fence: number,
    token: StoredToken,
    ttlMs: number,
  ): Promise<boolean> {
    await this.#ready();
    const k = this.#keys(key);
    const written = await this.#client.steadfastTokenPublish(
      k.tok,
      k.lock,
      k.gen,
      k.backoff,
      k.fail,
      owner,
      fence,
      this.#codec.encode(k.tok, token),
      Math.max(1, Math.floor(ttlMs)),
      this.#pubsub ? k.channel : '',
      token.fingerprint,
    );
    return Number(written) === 1;
  }

  async invalidate(key: string, fingerprint: string): Promise<InvalidationResult> {
    await this.#ready();
    const result = Number(
      await this.#client.steadfastTokenInvalidate(this.#keys(key).tok, fingerprint),
    );
    return result === 1 ? 'deleted' : result === -1 ? 'newer_present' : 'absent';
  }

  async release(key: string, owner: string): Promise<void> {
    await this.#ready();
    await this.#client.steadfastTokenRelease(this.#keys(key).lock, owner);
  }

  async backoff(
    key: string,
    owner: string,
    reason: string,
    policy: BackoffPolicy,
  ): Promise<BackoffApplied> {
    await this.#ready();
    const k = this.#keys(key);
    const [failures, durationMs] = await this.#client.steadfastTokenBackoff(
      k.backoff,
      k.lock,
      k.fail,
      reason,
      owner,
      Math.ceil(policy.baseMs),
      Math.ceil(policy.maxMs),
      policy.jitter,
      Math.ceil(policy.atLeastMs),
    );
    return { failures: Number(failures), durationMs: Number(durationMs) };
  }

  async offer(
    key: string,
    token: StoredToken,
    ttlMs: number,
  ): Promise<{ token: StoredToken; ttlMs: number } | undefined> {
    await this.#ready();
    const k = this.#keys(key);
    const reply = await this.#client.steadfastTokenOffer(
      k.tok,
      this.#codec.encode(k.tok, token),
      Math.max(1, Math.floor(ttlMs)),
      this.#pubsub ? k.channel : '',
      token.fingerprint,
    );
    if (reply.length === 0) return undefined;
    const [record, ttl] = reply;
    const existing = record ? this.#codec.decode(k.tok, record) : undefined;
    return existing && ttl > 0 ? { token: existing, ttlMs: ttl } : undefined;
  }

  async ping(): Promise<void> {
    await this.#ready();
    // A read of a key that does not exist exercises the script path like real traffic.
    await this.#client.steadfastTokenRead(`${this.#prefix}ping:{p}`, `${this.#prefix}ping:{p}`);
  }

  async lease(key: string, request: QuotaLeaseRequest): Promise<QuotaLease> {
    await this.#ready();
    return leaseQuota(this.#quotaClient, this.#prefix, key, request);
  }

  async pause(namespace: string, scope: string, ms: number, source: CooldownSource): Promise<void> {
    await this.#ready();
    await this.#cooldowns.pause(namespace, scope, ms, source);
  }

  async claimProbe(
    namespace: string,
    scope: string,
    owner: string,
    leaseMs: number,
  ): Promise<boolean> {
    await this.#ready();
    return this.#cooldowns.claimProbe(namespace, scope, owner, leaseMs);
  }

  async resume(namespace: string, scope: string): Promise<void> {
    await this.#ready();
    await this.#cooldowns.resume(namespace, scope);
  }

  /** Cooldown notices come by pub/sub whatever the `pubsub` option says (it is about tokens). */
  watch(namespace: string, listener: (notice: CooldownNotice) => void): () => void {
    return this.#cooldowns.watch(namespace, listener);
  }

  onReconnect(listener: () => void): () => void {
    // One 'ready' listener on the connection however many credentials share the store (the
    // subscriber connection has its own, from its creation on).
    if (this.#reconnectListeners.size === 0) this.#client.on('ready', this.#announceReady);
    this.#reconnectListeners.add(listener);
    return () => {
      this.#reconnectListeners.delete(listener);
      if (this.#reconnectListeners.size === 0) this.#client.off('ready', this.#announceReady);
    };
  }

  readonly #announceReady = (): void => {
    for (const listener of this.#reconnectListeners) listener();
  };

  subscribe(key: string, listener: (fingerprint: string) => void): () => void {
    if (!this.#pubsub) return () => {};
    const channel = this.#keys(key).channel;
    let set = this.#listeners.get(channel);
    if (!set) {
      set = new Set();
      this.#listeners.set(channel, set);
      this.#subscriberConnection()
        .subscribe(channel)
        .catch(() => {}); // a hint only: polling covers a lost subscription
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  #subscriberConnection(): Redis | Cluster {
    if (!this.#subscriber) {
      // Subscriptions may wait for the connection: they never sit on a call path.
      const subscriber =
        this.#client instanceof Cluster
          ? this.#client.duplicate(undefined, { enableOfflineQueue: true })
          : (this.#client as Redis).duplicate({
              enableOfflineQueue: true,
              commandTimeout: undefined,
            });
      subscriber.on('error', () => {});
      // Resubscribed after a reconnection (not the first connection): announcements may have
      // been missed meanwhile, so the managers look at the store once. ioredis emits 'ready'
      // just before it re-sends SUBSCRIBE: a look made at once could read the store before
      // another instance stores a token and announce it before the subscription is back, and
      // miss both. A PING sent after the SUBSCRIBE is answered after it, so the look comes
      // when no announcement can be lost any more.
      const resubscribed = () =>
        setImmediate(() => {
          if (subscriber instanceof Cluster) this.#announceReady();
          else subscriber.ping().then(this.#announceReady, () => {});
        });
      subscriber.once('ready', () => subscriber.on('ready', resubscribed));
      // Token announcements and cooldown notices share the connection; channels tell them apart.
      subscriber.on('message', (channel: string, message: string) => {
        this.#cooldowns.deliver(channel, message);
        for (const listener of this.#listeners.get(channel) ?? []) listener(message);
      });
      this.#subscriber = subscriber;
    }
    return this.#subscriber;
  }

  attach(): void {
    this.#users += 1;
  }

  async detach(): Promise<void> {
    this.#users = Math.max(0, this.#users - 1);
    if (this.#users > 0) return;
    // disconnect(), not quit(): quit waits for an answer a frozen Redis never sends.
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    this.#listeners.clear();
    this.#cooldowns.close();
    this.#reconnectListeners.clear();
    this.#client.off('ready', this.#announceReady);
    if (this.#ownsClient) this.#client.disconnect();
  }
}

/**
 * A token store in Redis, shared by every instance of a fleet: one token per credential,
 * one refresher fleet-wide, compare-and-delete on 401, fleet-wide backoff. The same store
 * shares fleet quotas and cooldowns ({@link RedisFleetStore}). Works with a
 * single node, `rediss://` (TLS), ACL users and Redis Cluster (keys share a hash tag).
 * Its connection fails fast (offline queue off, 200 ms command timeout, no per-command
 * retries); while Redis is down each instance carries on alone.
 *
 * @example
 * const store = redisTokenStore({ url: process.env.REDIS_URL, keyPrefix: 'billing:prod:' });
 * const auth = clientCredentials({ tokenUrl, clientId, clientSecret, store });
 */
export function redisTokenStore(options: RedisTokenStoreOptions): RedisFleetStore {
  return new RedisTokenStore(options);
}

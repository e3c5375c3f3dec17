/**
 * The Redis store as a fleet CooldownStore, on a private redis-server and a 3-node Redis
 * Cluster: a pause one instance starts reaches the others by pub/sub, only the longest
 * pause counts, one instance probes, and anything else on the channel is ignored.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RedisFleetStore,
  redisTokenStore,
} from '../../packages/redis/src/redis-token-store.js';
import type { CooldownNotice } from '../../packages/steadfast/src/strategies/cooldown/store.js';
import {
  type RedisCluster,
  type RedisInstance,
  startRedis,
  startRedisCluster,
} from '../helpers/redis.js';

let redis: RedisInstance;
let cluster: RedisCluster;
let raw: Redis;
const stores: RedisFleetStore[] = [];

beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster(3)]);
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.detach()));
  raw?.disconnect();
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

function openStore(options: Parameters<typeof redisTokenStore>[0] = {}): RedisFleetStore {
  const server = options.clusterNodes ? {} : { url: redis.url };
  const store = redisTokenStore({ ...server, keyPrefix: 'cd:', ...options });
  store.attach();
  stores.push(store);
  return store;
}

let counter = 0;
const freshNamespace = () => `api-${++counter}-${process.pid}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const scopeHash = (scope: string) => createHash('sha256').update(scope).digest('hex').slice(0, 16);

/** The notices a watcher receives, in order, and a way to wait for the next one. */
function watchNotices(store: RedisFleetStore, namespace: string) {
  const received: CooldownNotice[] = [];
  let wake: (() => void) | undefined;
  const stop = store.watch(namespace, (notice) => {
    received.push(notice);
    wake?.();
  });
  let read = 0;
  return {
    received,
    stop,
    async next(timeoutMs = 2000): Promise<CooldownNotice> {
      const giveUpAt = Date.now() + timeoutMs;
      while (read >= received.length) {
        if (Date.now() > giveUpAt) throw new Error('no cooldown notice arrived');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 20);
        });
      }
      return received[read++]!;
    },
  };
}

/** Wait until `count` connections of `server` are subscribed to `channel`. */
async function subscribers(server: RedisInstance, channel: string, count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [, n] = (await server.cli('PUBSUB', 'NUMSUB', channel)).trim().split('\n');
    if (Number(n) === count) return;
    await sleep(10);
  }
  throw new Error(`never ${count} subscribers on ${channel}`);
}

describe('the Redis cooldown store', () => {
  it('tells a watcher on another instance of a pause within 100 ms, and no other namespace', async () => {
    const [a, b] = [openStore(), openStore()];
    const namespace = freshNamespace();
    const watcher = watchNotices(b, namespace);
    const elsewhere = watchNotices(b, freshNamespace());
    await subscribers(redis, `cd:cooldown:{${namespace}}`, 1);

    const startedAt = performance.now();
    await a.pause(namespace, 'https://api.example.com', 5000, 'retry_after');
    const notice = await watcher.next();
    expect(performance.now() - startedAt).toBeLessThan(100);
    expect(notice).toEqual({
      scope: 'https://api.example.com',
      change: 'started',
      remainingMs: 5000,
      source: 'retry_after',
    });
    expect(elsewhere.received).toEqual([]);
    watcher.stop();
    elsewhere.stop();
  });

  it('keeps the longer of two pauses, and publishes nothing for the shorter', async () => {
    const [a, b] = [openStore(), openStore()];
    const namespace = freshNamespace();
    const watcher = watchNotices(b, namespace);
    await subscribers(redis, `cd:cooldown:{${namespace}}`, 1);

    await a.pause(namespace, 'orders', 10_000, 'ratelimit');
    await b.pause(namespace, 'orders', 1000, 'retry_after');
    const ttl = Number(await raw.pttl(`cd:cool:{${namespace}|${scopeHash('orders')}}`));
    expect(ttl).toBeGreaterThan(9000);
    expect(await raw.get(`cd:cool:{${namespace}|${scopeHash('orders')}}`)).toBe('ratelimit');

    await a.pause(namespace, 'orders', 20_000, 'x_ratelimit'); // a longer one extends it
    await a.resume(namespace, 'orders');
    // Notices of one channel arrive in order: the shorter pause published nothing.
    const changes = [await watcher.next(), await watcher.next(), await watcher.next()];
    expect(changes.map((n) => [n.change, n.remainingMs, n.source])).toEqual([
      ['started', 10_000, 'ratelimit'],
      ['started', 20_000, 'x_ratelimit'],
      ['ended', 0, 'fleet'],
    ]);
    watcher.stop();
  });

  it('grants the probe to exactly one of many concurrent claimers, until its lease lapses', async () => {
    const [a, b] = [openStore(), openStore()];
    const namespace = freshNamespace();
    await a.pause(namespace, 'search', 50, 'retry_after');
    const claims = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? a : b).claimProbe(namespace, 'search', `owner-${i}`, 150),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await b.claimProbe(namespace, 'search', 'late', 150)).toBe(false);
    await sleep(200); // a probe that never reports back
    expect(await b.claimProbe(namespace, 'search', 'next', 10_000)).toBe(true);
    // A new pause clears the claim: the probe after it is claimed afresh.
    await a.pause(namespace, 'search', 1000, 'ratelimit');
    expect(await a.claimProbe(namespace, 'search', 'after-pause', 10_000)).toBe(true);
  });

  it('resume ends the pause for every instance, says so, and frees the probe', async () => {
    const [a, b] = [openStore(), openStore()];
    const namespace = freshNamespace();
    const watchers = [watchNotices(a, namespace), watchNotices(b, namespace)];
    await subscribers(redis, `cd:cooldown:{${namespace}}`, 2);
    await a.pause(namespace, 'billing', 60_000, 'retry_after');
    expect(await b.claimProbe(namespace, 'billing', 'b', 60_000)).toBe(true);
    expect(await a.claimProbe(namespace, 'billing', 'a', 60_000)).toBe(false);

    await b.resume(namespace, 'billing');
    for (const watcher of watchers) {
      expect((await watcher.next()).change).toBe('started');
      expect(await watcher.next()).toEqual({
        scope: 'billing',
        change: 'ended',
        remainingMs: 0,
        source: 'fleet',
      });
      watcher.stop();
    }
    expect(await raw.exists(`cd:cool:{${namespace}|${scopeHash('billing')}}`)).toBe(0);
    expect(await a.claimProbe(namespace, 'billing', 'a', 60_000)).toBe(true);
  });

  it('ignores malformed messages on its channel, and a listener that throws', async () => {
    const store = openStore();
    const namespace = freshNamespace();
    const channel = `cd:cooldown:{${namespace}}`;
    store.watch(namespace, () => {
      throw new Error('a broken listener');
    });
    const watcher = watchNotices(store, namespace);
    await subscribers(redis, channel, 1);
    const valid = { scope: 's', change: 'started', remainingMs: 10, source: 'ratelimit' };
    const malformed = [
      'not json',
      'null',
      '[]',
      '"started"',
      JSON.stringify({ ...valid, scope: 1 }),
      JSON.stringify({ ...valid, change: 'paused' }),
      JSON.stringify({ ...valid, remainingMs: -1 }),
      JSON.stringify({ ...valid, remainingMs: '10' }),
      JSON.stringify({ ...valid, source: 'toString' }),
      JSON.stringify({ ...valid, source: undefined }),
    ];
    for (const message of malformed) await raw.publish(channel, message);
    await raw.publish(channel, JSON.stringify(valid));
    expect(await watcher.next()).toEqual(valid);
    expect(watcher.received).toHaveLength(1);
    // The subscriber connection survived it all.
    await store.pause(namespace, 't', 100, 'fleet');
    expect((await watcher.next()).scope).toBe('t');
  });

  it('shares cooldowns by pub/sub also when token announcements are off', async () => {
    const [a, b] = [openStore({ pubsub: false }), openStore({ pubsub: false })];
    const namespace = freshNamespace();
    const watcher = watchNotices(b, namespace);
    await subscribers(redis, `cd:cooldown:{${namespace}}`, 1);
    await a.pause(namespace, 'x', 1000, 'retry_after');
    expect((await watcher.next()).scope).toBe('x');
    watcher.stop();
  });

  it('never names a scope in a key: scopes are hashed under the namespace tag', async () => {
    const store = openStore({ keyPrefix: 'hashed:' });
    const namespace = freshNamespace();
    const scope = 'https://secret-partner.example.com:8443';
    await store.pause(namespace, scope, 60_000, 'retry_after');
    await store.claimProbe(namespace, scope, 'me', 60_000);
    const keys = (await raw.keys('hashed:*')).sort();
    expect(keys).toEqual([
      `hashed:cool:{${namespace}|${scopeHash(scope)}}`,
      `hashed:probe:{${namespace}|${scopeHash(scope)}}`,
    ]);
  });

  it('unsubscribes when the last watcher of a namespace leaves, and closes its connection on detach', async () => {
    const clientsBefore = await connectedClients(redis);
    const store = redisTokenStore({ url: redis.url, keyPrefix: 'cd:' });
    store.attach();
    const namespace = freshNamespace();
    const channel = `cd:cooldown:{${namespace}}`;
    const first = store.watch(namespace, () => {});
    const second = store.watch(namespace, () => {});
    await subscribers(redis, channel, 1); // one subscription per namespace
    first();
    await sleep(50);
    await subscribers(redis, channel, 1);
    second();
    await subscribers(redis, channel, 0);
    store.watch(namespace, () => {}); // still watched when the store closes
    await subscribers(redis, channel, 1);
    await store.detach();
    await subscribers(redis, channel, 0);
    for (let i = 0; i < 100 && (await connectedClients(redis)) > clientsBefore; i++)
      await sleep(10);
    expect(await connectedClients(redis)).toBe(clientsBefore);
  });

  it('works on a Redis Cluster', async () => {
    const options = { clusterNodes: [...cluster.urls], keyPrefix: 'cl:' };
    const [a, b] = [openStore(options), openStore(options)];
    const namespace = freshNamespace();
    const watcher = watchNotices(b, namespace);
    await a.claimProbe(namespace, 'warm-up', 'a', 1); // the clients are connected
    let notice: CooldownNotice | undefined;
    // Until the subscription is in place, pauses are repeated (a longer one each time).
    for (let ms = 10_000; !notice; ms += 1000) {
      await a.pause(namespace, 'cluster-scope', ms, 'retry_after');
      notice = await watcher.next(200).catch(() => undefined);
    }
    expect(notice).toMatchObject({ scope: 'cluster-scope', change: 'started' });
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).claimProbe(namespace, 'cluster-scope', `o${i}`, 10_000),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    await b.resume(namespace, 'cluster-scope');
    let ended: CooldownNotice | undefined;
    while (ended?.change !== 'ended') ended = await watcher.next();
    expect(await a.claimProbe(namespace, 'cluster-scope', 'after', 10_000)).toBe(true);
    watcher.stop();
  });
});

async function connectedClients(server: RedisInstance): Promise<number> {
  const info = await server.cli('INFO', 'clients');
  return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
}

/**
 * The token-store contract, run against the memory store, a real redis-server (plain and
 * with AES-256-GCM at rest) and a real 3-node Redis Cluster.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisTokenStore } from '../../packages/redis/src/redis-token-store.js';
import { tokenFingerprint } from '../../packages/steadfast/src/auth/fingerprint.js';
import { memoryTokenStore } from '../../packages/steadfast/src/auth/store/memory.js';
import type { StoredToken, TokenStore } from '../../packages/steadfast/src/auth/store/types.js';
import {
  type RedisCluster,
  type RedisInstance,
  startRedis,
  startRedisCluster,
} from '../helpers/redis.js';

let redis: RedisInstance;
let cluster: RedisCluster;
const stores: TokenStore[] = [];
const encryptionKey = randomBytes(32).toString('base64');

beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster(3)]);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.detach()));
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

function token(value: string, generation = 1): StoredToken {
  return {
    value,
    fingerprint: tokenFingerprint(value),
    type: 'Bearer',
    issuedAt: Date.now(),
    lifetimeMs: 60_000,
    generation,
  };
}

/** A backoff policy with one fixed duration (as for configuration errors). */
const fixed = (ms: number) => ({ baseMs: ms, maxMs: ms, jitter: 1, atLeastMs: 0 });

let keyCounter = 0;
const freshKey = () => `k${++keyCounter}${process.pid}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const variants: [string, () => TokenStore][] = [
  ['memory', () => memoryTokenStore()],
  ['redis', () => redisTokenStore({ url: redis.url, keyPrefix: 'contract:' })],
  [
    'redis + encryption',
    () => redisTokenStore({ url: redis.url, keyPrefix: 'enc:', encryptionKey }),
  ],
  ['redis cluster', () => redisTokenStore({ clusterNodes: [...cluster.urls], keyPrefix: 'cl:' })],
];

describe.each(variants)('the %s token store', (_name, create) => {
  let store: TokenStore;
  beforeAll(() => {
    store = create();
    store.attach();
    stores.push(store);
  });

  it('gives the lease to one owner at a time and bumps the fence each time', async () => {
    const key = freshKey();
    const first = await store.acquire(key, 'a', 100);
    expect(first).toBeGreaterThan(0);
    expect(await store.acquire(key, 'b', 100)).toBe(0);
    await sleep(150); // the lease lapses: a holder that died is noticed this way
    const second = await store.acquire(key, 'b', 1000);
    expect(second).toBe(first + 1);
  });

  it('never lets a slow holder overwrite a newer token (fencing)', async () => {
    const key = freshKey();
    const slow = await store.acquire(key, 'slow', 50);
    await sleep(80);
    const fast = await store.acquire(key, 'fast', 1000);
    expect(await store.publish(key, 'fast', fast, token('newer'), 10_000)).toBe(true);
    expect(await store.publish(key, 'slow', slow, token('older'), 10_000)).toBe(false);
    const read = await store.read(key);
    expect(read.token?.value).toBe('newer');
    expect(read.ttlMs).toBeGreaterThan(0);
    expect(read.ttlMs).toBeLessThanOrEqual(10_000);
    // Publishing released the lease.
    expect(await store.acquire(key, 'next', 1000)).toBeGreaterThan(0);
  });

  it('deletes on 401 only the exact token that was rejected', async () => {
    const key = freshKey();
    const fence = await store.acquire(key, 'a', 1000);
    await store.publish(key, 'a', fence, token('current'), 10_000);
    expect(await store.invalidate(key, tokenFingerprint('stale'))).toBe('newer_present');
    expect((await store.read(key)).token?.value).toBe('current');
    expect(await store.invalidate(key, tokenFingerprint('current'))).toBe('deleted');
    expect(await store.invalidate(key, tokenFingerprint('current'))).toBe('absent');
    expect((await store.read(key)).token).toBeUndefined();
  });

  it('shares a backoff with its reason, and a publish clears it', async () => {
    const key = freshKey();
    const fence = await store.acquire(key, 'a', 1000);
    await store.backoff(key, 'a', 'invalid_client', fixed(5_000));
    const read = await store.read(key);
    expect(read.backoffReason).toBe('invalid_client');
    expect(read.backoffMs).toBeGreaterThan(4_000);
    // The backoff released the lease of its writer.
    const next = await store.acquire(key, 'b', 1000);
    expect(next).toBe(fence + 1);
    await store.publish(key, 'b', next, token('ok'), 10_000);
    expect((await store.read(key)).backoffMs).toBe(0);
  });

  it('counts the failures of the fleet, so the backoff doubles whoever writes it, until a publish', async () => {
    const key = freshKey();
    const policy = { baseMs: 1000, maxMs: 6000, jitter: 1, atLeastMs: 0 };
    const applied = [];
    for (const owner of ['a', 'b', 'c', 'd', 'e']) {
      await store.acquire(key, owner, 1000); // each failure has another lease holder
      applied.push(await store.backoff(key, owner, '503', policy));
    }
    expect(applied).toEqual([
      { failures: 1, durationMs: 1000 },
      { failures: 2, durationMs: 2000 },
      { failures: 3, durationMs: 4000 },
      { failures: 4, durationMs: 6000 }, // capped
      { failures: 5, durationMs: 6000 },
    ]);
    // The jitter and a Retry-After apply to the doubled delay.
    const jittered = await store.backoff(key, 'f', '503', { ...policy, jitter: 0.5 });
    expect(jittered).toEqual({ failures: 6, durationMs: 3000 });
    const retryAfter = await store.backoff(key, 'g', '503', { ...policy, atLeastMs: 30_000 });
    expect(retryAfter).toEqual({ failures: 7, durationMs: 30_000 });
    expect((await store.read(key)).backoffMs).toBeGreaterThan(20_000);
    // A published token resets the count: the next failure starts again at the base.
    const fence = await store.acquire(key, 'h', 1000);
    expect(await store.publish(key, 'h', fence, token('ok'), 10_000)).toBe(true);
    await store.acquire(key, 'i', 1000);
    expect(await store.backoff(key, 'i', '503', policy)).toEqual({ failures: 1, durationMs: 1000 });
  });

  it('forgets the failure count once the backoff is over by more than its cap', async () => {
    const key = freshKey();
    const policy = { baseMs: 20, maxMs: 40, jitter: 1, atLeastMs: 0 };
    expect(await store.backoff(key, 'a', '503', policy)).toEqual({ failures: 1, durationMs: 20 });
    expect(await store.backoff(key, 'a', '503', policy)).toEqual({ failures: 2, durationMs: 40 });
    await sleep(150); // past the 40 ms backoff plus the 40 ms cap
    expect(await store.backoff(key, 'a', '503', policy)).toEqual({ failures: 1, durationMs: 20 });
  });

  it('keeps, of an offered token and the stored one, the one that expires later', async () => {
    const key = freshKey();
    expect(await store.offer(key, token('first'), 10_000)).toBeUndefined(); // none stored
    // An older token (it expires sooner) never replaces a newer one: the newer is returned.
    const kept = await store.offer(key, token('older'), 5_000);
    expect(kept?.token.value).toBe('first');
    expect(kept?.ttlMs).toBeGreaterThan(5_000);
    // A token that expires later replaces the stored one.
    expect(await store.offer(key, token('newer'), 20_000)).toBeUndefined();
    const read = await store.read(key);
    expect(read.token?.value).toBe('newer');
    expect(read.ttlMs).toBeGreaterThan(10_000);
  });

  it('announces a token stored by an offer, like a published one', async () => {
    const key = freshKey();
    const heard: string[] = [];
    const offered: string[] = [];
    const unsubscribe = store.subscribe(key, (fp) => heard.push(fp));
    // The subscription reaches Redis asynchronously: offer longer-lived tokens until heard.
    for (let i = 0; i < 50 && heard.length === 0; i++) {
      const next = token(`offered-${i}`);
      offered.push(next.fingerprint);
      expect(await store.offer(key, next, 10_000 + i * 1000)).toBeUndefined();
      for (let j = 0; j < 4 && heard.length === 0; j++) await sleep(25);
    }
    unsubscribe();
    expect(offered).toContain(heard[0]);
  });

  it('announces a published token to subscribers (a hint)', async () => {
    const key = freshKey();
    const heard: string[] = [];
    const unsubscribe = store.subscribe(key, (fp) => heard.push(fp));
    // The subscription reaches Redis asynchronously: publish until it is heard.
    const announced = token('announced');
    for (let i = 0; i < 50 && heard.length === 0; i++) {
      const fence = await store.acquire(key, 'a', 1000);
      await store.publish(key, 'a', fence, announced, 10_000);
      for (let j = 0; j < 4 && heard.length === 0; j++) await sleep(25);
    }
    unsubscribe();
    expect(heard[0]).toBe(tokenFingerprint('announced'));
  });
});

describe('token records at rest in Redis', () => {
  it('are encrypted with AES-256-GCM when a key is configured, and unreadable with another key', async () => {
    const key = freshKey();
    const writer = redisTokenStore({ url: redis.url, keyPrefix: 'rest:', encryptionKey });
    const stranger = redisTokenStore({
      url: redis.url,
      keyPrefix: 'rest:',
      encryptionKey: randomBytes(32).toString('hex'),
    });
    const plain = redisTokenStore({ url: redis.url, keyPrefix: 'rest:' });
    for (const s of [writer, stranger, plain]) s.attach();
    try {
      const fence = await writer.acquire(key, 'a', 1000);
      await writer.publish(key, 'a', fence, token('very-secret-token-value'), 10_000);
      const raw = await redis.cli('GET', `rest:tok:{${key}}`);
      expect(raw).not.toContain('very-secret-token-value');
      expect(raw).toContain('|e1:');
      expect((await writer.read(key)).token?.value).toBe('very-secret-token-value');
      expect((await stranger.read(key)).token).toBeUndefined();
      expect((await plain.read(key)).token).toBeUndefined();
    } finally {
      await Promise.all([writer, stranger, plain].map((s) => s.detach()));
    }
  });

  it('are ignored when foreign or tampered with: wrong fingerprint, header-breaking value, other type', async () => {
    const store = redisTokenStore({ url: redis.url, keyPrefix: 'tamper:' });
    store.attach();
    try {
      const cases = [
        `${tokenFingerprint('real')}|${JSON.stringify({ v: 'other', life: 60_000 })}`,
        `${tokenFingerprint('a\r\nx: 1')}|${JSON.stringify({ v: 'a\r\nx: 1', life: 60_000 })}`,
        `${tokenFingerprint('mac')}|${JSON.stringify({ v: 'mac', t: 'MAC', life: 60_000 })}`,
        'not-a-record',
      ];
      for (const record of cases) {
        const key = freshKey();
        await redis.cli('SET', `tamper:tok:{${key}}`, record, 'PX', '60000');
        expect((await store.read(key)).token).toBeUndefined();
      }
    } finally {
      await store.detach();
    }
  });

  it('use one hash tag per credential, under the configured prefix', async () => {
    const key = freshKey();
    const store = redisTokenStore({ url: redis.url, keyPrefix: 'app:prod:' });
    store.attach();
    try {
      const fence = await store.acquire(key, 'a', 1000);
      await store.publish(key, 'a', fence, token('t'), 10_000);
      const keys = (await redis.cli('KEYS', `app:prod:*{${key}}`)).trim().split('\n').sort();
      expect(keys).toEqual([`app:prod:gen:{${key}}`, `app:prod:tok:{${key}}`]);
    } finally {
      await store.detach();
    }
  });
});

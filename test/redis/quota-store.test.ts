/**
 * The Redis store as a fleet QuotaStore, on a private redis-server and a 3-node Redis
 * Cluster: its Lua lease does the arithmetic of gcra.ts (checked against the memory store
 * at the same times), never over-grants under concurrency, and counts the fleet.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defineQuotaScript,
  leaseQuota,
  type QuotaClient,
} from '../../packages/redis/src/redis-quota.js';
import {
  type RedisFleetStore,
  redisTokenStore,
} from '../../packages/redis/src/redis-token-store.js';
import { seededRandom } from '../../packages/steadfast/src/pipeline/seeded-random.js';
import { memoryQuotaStore } from '../../packages/steadfast/src/strategies/fleet-quota/memory-store.js';
import {
  FLEET_MEMBER_TTL_MS,
  type QuotaLease,
  type QuotaLeaseRequest,
} from '../../packages/steadfast/src/strategies/fleet-quota/store.js';
import {
  type RedisCluster,
  type RedisInstance,
  startRedis,
  startRedisCluster,
} from '../helpers/redis.js';

let redis: RedisInstance;
let cluster: RedisCluster;
let raw: Redis;
let client: QuotaClient;
const stores: RedisFleetStore[] = [];

beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster(3)]);
  raw = new Redis(redis.url);
  client = defineQuotaScript(raw);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.detach()));
  raw?.disconnect();
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

function openStore(options: Parameters<typeof redisTokenStore>[0]): RedisFleetStore {
  const store = redisTokenStore(options);
  store.attach();
  stores.push(store);
  return store;
}

let keyCounter = 0;
const freshKey = () => `q${++keyCounter}-${process.pid}`;
/** A realistic Unix time in ms with a fraction, as the script computes from TIME. */
const EPOCH_MS = 1_765_000_000_000.125;

const request = (overrides: Partial<QuotaLeaseRequest>): QuotaLeaseRequest => ({
  want: 1,
  min: 1,
  emissionMs: 100,
  burst: 1,
  horizonMs: 0,
  instance: 'i1',
  ...overrides,
});

/** One lease of a sequence: `atMs` after EPOCH_MS. */
type Step = readonly [atMs: number, request: QuotaLeaseRequest];

/** The leases of `steps` from the Lua script and from the memory store, at the same times. */
async function bothLeases(steps: readonly Step[]): Promise<[QuotaLease[], QuotaLease[]]> {
  const key = freshKey();
  const memory = memoryQuotaStore();
  const fromRedis: QuotaLease[] = [];
  const fromMemory: QuotaLease[] = [];
  for (const [atMs, req] of steps) {
    fromRedis.push(await leaseQuota(client, 'eq:', key, req, EPOCH_MS + atMs));
    fromMemory.push(memory.leaseNow(key, req, EPOCH_MS + atMs));
  }
  return [fromRedis, fromMemory];
}

describe('a Redis quota lease', () => {
  const fractional = request({ emissionMs: 1000 / 600, burst: 3, horizonMs: 10, want: 4 });
  const cases: [string, Step[]][] = [
    ['from idle, one permit', [[0, request({ want: 5 })]]],
    [
      'a burst after a quiet period, then nothing until the next emission',
      [
        [0, request({ burst: 5, want: 10 })],
        [0, request({ burst: 5, want: 10 })],
        [100, request({ burst: 5, want: 10 })],
      ],
    ],
    [
      'more wanted than fits in the horizon',
      [
        [0, request({ horizonMs: 250, want: 10 })],
        [50, request({ horizonMs: 250, want: 10 })],
        [120, request({ horizonMs: 250, want: 10, instance: 'i2' })],
      ],
    ],
    [
      'a minimum that does not fit: nothing, and when to ask again',
      [
        [0, request({ burst: 2, want: 2, min: 2 })],
        [10, request({ burst: 2, want: 3, min: 3, horizonMs: 40 })],
        [10, request({ burst: 2, want: 1, min: 1 })],
      ],
    ],
    [
      'a fractional emission interval',
      [0, 0.3, 0.9, 1.7, 5.25, 5.25, 9.999, 10.001, 40].map(
        (atMs, i): Step => [atMs, { ...fractional, instance: `i${i % 3}` }],
      ),
    ],
  ];

  it.each(cases)('grants what the memory store grants: %s', async (_name, steps) => {
    const [fromRedis, fromMemory] = await bothLeases(steps);
    expect(fromRedis).toEqual(fromMemory);
    expect(fromRedis.some((lease) => lease.granted > 0)).toBe(true);
  });

  it('reports the retry time when the minimum does not fit', async () => {
    const [[, denied]] = await bothLeases([
      [0, request({ burst: 2, want: 2, min: 2 })],
      [10, request({ burst: 2, want: 3, min: 3, horizonMs: 40 })],
    ]);
    expect(denied).toMatchObject({ granted: 0, firstInMs: 0 });
    // The next permits are usable at 100, 200 and 300 ms; the third is 250 ms past 10 + 40 ms.
    expect(denied!.retryInMs).toBeCloseTo(250, 9);
  });

  it('keeps a fleet within burst + 1000 / emissionMs permits over any simulated second', async () => {
    const key = freshKey();
    const memory = memoryQuotaStore();
    const random = seededRandom(7);
    const quota = { emissionMs: 1000 / 60, burst: 4, horizonMs: 50, min: 1 };
    const usableAt: number[] = [];
    let at = 0;
    while (at < 3000) {
      at += random() * 8; // eight instances asking, one lease every 0–8 ms
      const req = { ...quota, want: 1 + Math.floor(random() * 4), instance: `i${(at % 8) | 0}` };
      const lease = await leaseQuota(client, 'sim:', key, req, EPOCH_MS + at);
      expect(lease).toEqual(memory.leaseNow(key, req, EPOCH_MS + at));
      for (let i = 0; i < lease.granted; i++) {
        usableAt.push(at + Math.max(0, lease.firstInMs + i * quota.emissionMs));
      }
    }
    usableAt.sort((a, b) => a - b);
    const limit = quota.burst + 1000 / quota.emissionMs;
    let most = 0;
    for (let first = 0, last = 0; first < usableAt.length; first++) {
      while (last < usableAt.length && usableAt[last]! < usableAt[first]! + 1000) last++;
      most = Math.max(most, last - first);
    }
    expect(most).toBeLessThanOrEqual(limit + 1e-9);
    expect(most).toBeGreaterThan(limit - 2); // the quota was used, not just respected
  });

  it('never over-grants to four connections leasing at once', async () => {
    const key = freshKey();
    const fleet = Array.from({ length: 4 }, () =>
      openStore({ url: redis.url, keyPrefix: 'race:', commandTimeoutMs: 5000 }),
    );
    const quota = { emissionMs: 10, burst: 5, horizonMs: 200, min: 1 };
    const [startS, startUs] = await raw.time();
    const startMs = Number(startS) * 1000 + Number(startUs) / 1000;
    const leases = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        fleet[i % 4]!.lease(key, { ...quota, want: 3, instance: `instance-${i % 4}` }),
      ),
    );
    const [endS, endUs] = await raw.time();
    const endMs = Number(endS) * 1000 + Number(endUs) / 1000;
    const tat = Number(await raw.get(`race:quota:{${key}}`));

    const granted = leases.reduce((sum, lease) => sum + lease.granted, 0);
    const denied = leases.filter((lease) => lease.granted === 0);
    expect(denied.length).toBeGreaterThan(0); // they did compete
    expect(denied.every((lease) => lease.retryInMs > 0)).toBe(true);
    expect(leases.every((lease) => Number.isInteger(lease.granted))).toBe(true);
    // Every granted permit is usable in [start − slack, TAT − slack), one per emission interval,
    // and the TAT never runs further ahead than the horizon allows.
    expect(granted).toBeLessThanOrEqual((tat - startMs) / quota.emissionMs + 1e-6);
    const slack = (quota.burst - 1) * quota.emissionMs;
    expect(tat).toBeLessThanOrEqual(endMs + quota.horizonMs + slack + quota.emissionMs);
    const after = await fleet[0]!.lease(key, { ...quota, want: 1, instance: 'instance-0' });
    expect(after.fleetSize).toBe(4);
  });

  it('counts the distinct instances of the last 30 s as the fleet', async () => {
    const key = freshKey();
    const at = (ms: number, instance: string) =>
      leaseQuota(client, 'members:', key, request({ instance }), EPOCH_MS + ms);
    expect((await at(0, 'a')).fleetSize).toBe(1);
    expect((await at(100, 'b')).fleetSize).toBe(2);
    expect((await at(200, 'a')).fleetSize).toBe(2);
    expect((await at(300, 'c')).fleetSize).toBe(3);
    // `b` last leased at 100 ms: still counted at exactly 30 s later, forgotten after that.
    expect((await at(100 + FLEET_MEMBER_TTL_MS, 'c')).fleetSize).toBe(3);
    expect((await at(100.5 + FLEET_MEMBER_TTL_MS, 'c')).fleetSize).toBe(2);
    expect((await at(301 + FLEET_MEMBER_TTL_MS, 'd')).fleetSize).toBe(2); // c and d
    const ttl = Number(await raw.pttl(`members:quota-members:{${key}}`));
    expect(ttl).toBeGreaterThan(FLEET_MEMBER_TTL_MS - 1000);
  });

  it('counts instances, not connections or leases, through the store on the Redis clock', async () => {
    const key = freshKey();
    const [a, b] = [
      openStore({ url: redis.url, keyPrefix: 'fleet:' }),
      openStore({ url: redis.url, keyPrefix: 'fleet:' }),
    ];
    const quota = { emissionMs: 1, burst: 10, horizonMs: 0, want: 1, min: 1 };
    expect((await a.lease(key, { ...quota, instance: 'one' })).fleetSize).toBe(1);
    expect((await b.lease(key, { ...quota, instance: 'one' })).fleetSize).toBe(1);
    expect((await b.lease(key, { ...quota, instance: 'two' })).fleetSize).toBe(2);
    expect((await a.lease(key, { ...quota, instance: 'two' })).fleetSize).toBe(2);
  });

  it('lets its TAT expire once it is in the past, and keeps no key without a grant', async () => {
    const key = freshKey();
    const lease = await openStore({ url: redis.url, keyPrefix: 'ttl:' }).lease(
      key,
      request({ emissionMs: 500, burst: 3, want: 3 }),
    );
    expect(lease.granted).toBe(3);
    const ttl = Number(await raw.pttl(`ttl:quota:{${key}}`));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1500 + 1000); // three permits, plus the margin

    const other = freshKey();
    await leaseQuota(client, 'ttl:', other, request({ min: 2, want: 2 }), EPOCH_MS);
    expect(await raw.exists(`ttl:quota:{${other}}`)).toBe(0);
  });

  it('works on a Redis Cluster: both keys of a quota share one slot', async () => {
    const store = openStore({ clusterNodes: [...cluster.urls], keyPrefix: 'cl:' });
    // Enough quotas that their slots fall on every node.
    for (let n = 0; n < 6; n++) {
      const key = freshKey();
      const quota = request({ emissionMs: 1000, burst: 2, want: 5, instance: `i${n}` });
      const first = await store.lease(key, quota);
      expect(first).toMatchObject({ granted: 2, retryInMs: 0, fleetSize: 1 });
      expect(first.firstInMs).toBeLessThanOrEqual(-1000 + 1e-6); // usable at once
      const second = await store.lease(key, { ...quota, instance: 'other' });
      expect(second).toMatchObject({ granted: 0, fleetSize: 2 });
      expect(second.retryInMs).toBeGreaterThan(900);
    }
  });
});

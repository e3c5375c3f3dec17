/**
 * Fleet scenarios shared by the single-node and the Redis Cluster suites: 4 instances
 * (separate processes) against the real IdP and the introspecting resource server.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type OAuthStack, startOAuthStack } from '../helpers/oauth.js';
import type { RedisInstance } from '../helpers/redis.js';
import type { Report, WorkerInit } from './fixtures/fleet-worker.js';
import type { CallResult } from './fixtures/pipeline.js';
import { type Fleet, startFleet } from './fleet.js';
import { expectNoSecrets } from './leaks.js';

export const INSTANCES = 4;
export const CONCURRENCY = 50;
/**
 * Redis command timeout for the coordination scenarios. Four instances, a Redis (or three)
 * and the IdP on a 2-core machine can stall an instance's event loop past the 200 ms
 * default while it starts, and ioredis then times a command out although Redis answered:
 * the instance would rightly work alone and fetch its own token. These scenarios test
 * coordination, not outages (the outage suite uses the default), so they allow 1 s.
 */
export const COORDINATION_TIMEOUT_MS = 1000;

/** Where a coordination scenario's fleet shares tokens: one private Redis, a prefix per test. */
export function redisStoreOf(redis: RedisInstance): (prefix: string) => WorkerInit['store'] {
  return (keyPrefix) => ({
    kind: 'redis',
    url: redis.url,
    keyPrefix,
    commandTimeoutMs: COORDINATION_TIMEOUT_MS,
  });
}

export interface FleetHarness {
  readonly stack: () => OAuthStack;
  /** A fleet with a fresh key prefix (nothing shared with earlier tests). */
  start(auth?: Partial<WorkerInit['auth']>): Promise<Fleet>;
  /** Results and reports to scan for secrets after the test. */
  keep(results: CallResult[][]): CallResult[];
}

/**
 * Set up the OAuth stack and fleet lifecycle for a suite. `store(prefix)` says where the
 * fleet shares tokens. After each test the fleet's events, logs and errors are scanned for
 * the secret and every issued token.
 */
export function useFleetHarness(
  store: (prefix: string) => WorkerInit['store'],
  options: { ttlSeconds?: number; apiDelayMs?: number } = {},
): FleetHarness {
  let stack: OAuthStack;
  let fleet: Fleet | undefined;
  let kept: CallResult[] = [];
  let counter = 0;

  beforeAll(async () => {
    stack = await startOAuthStack({
      ttlSeconds: options.ttlSeconds ?? 300,
      ...(options.apiDelayMs === undefined ? {} : { apiDelayMs: options.apiDelayMs }),
    });
  });
  afterEach(async () => {
    stack.setFault({ kind: 'none' });
    if (!fleet) return;
    const reports = (await fleet.reportAlive()).map((r) => r.report);
    expectNoSecrets(
      { clientSecret: stack.client.clientSecret, tokens: stack.issuedTokens() },
      reports,
      kept,
    );
    kept = [];
  });
  afterAll(async () => {
    await fleet?.close();
    await stack?.close();
  });

  return {
    stack: () => stack,
    async start(auth = {}) {
      counter += 1;
      const init: WorkerInit = {
        apiUrl: stack.apiUrl,
        auth: {
          tokenUrl: stack.tokenUrl,
          clientId: stack.client.clientId,
          clientSecret: stack.client.clientSecret,
          scope: stack.client.scope,
          ...auth,
        },
        store: store(`t${counter}-${process.pid}:`),
      };
      // Processes are reused across the tests of a suite (starting 4 tsx processes costs
      // seconds); each test gets a fresh authorization, store connection and key prefix.
      if (fleet) await fleet.reinit(init);
      else fleet = await startFleet(INSTANCES, init);
      return fleet;
    },
    keep(results) {
      const all = results.flat();
      kept.push(...all);
      return all;
    },
  };
}

/** Token requests since `before`, with the fleet's counters in the failure message. */
async function expectTokenRequests(
  harness: FleetHarness,
  fleet: Fleet,
  before: number,
  expected: number,
) {
  const actual = harness.stack().tokenRequests() - before;
  const detail =
    actual === expected ? '' : JSON.stringify((await fleet.report()).map((r) => r.counts));
  expect(actual, detail).toBe(expected);
}

const sum = (reports: Report[], key: string) =>
  reports.reduce((n, r) => n + (r.counts[key] ?? 0), 0);

/** The scenarios every shared store must pass. */
export function fleetBasics(harness: FleetHarness): void {
  it('makes exactly one token request for a cold start of 4 instances x 50 concurrent calls', async () => {
    const fleet = await harness.start();
    const before = harness.stack().tokenRequests();
    const results = harness.keep(await fleet.burst(CONCURRENCY));
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    await expectTokenRequests(harness, fleet, before, 1);
  });

  it('absorbs a revocation hitting 4 x 50 calls in flight: every call succeeds, exactly one new token request', async () => {
    const fleet = await harness.start();
    harness.keep(await fleet.burst(1)); // every instance now holds the token in L1
    await fleet.resetCounts();
    const before = harness.stack().tokenRequests();
    expect(await harness.stack().idp.revokeAll()).toBeGreaterThan(0);
    const results = harness.keep(await fleet.burst(CONCURRENCY));
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    await expectTokenRequests(harness, fleet, before, 1);
    const reports = await fleet.report();
    // Exactly one instance deleted the rejected token; every other 401 found it gone or replaced.
    expect(sum(reports, 'invalidation.deleted')).toBe(1);
    expect(sum(reports, 'reauthorize')).toBe(INSTANCES * CONCURRENCY);
  });

  it('backs off as one fleet when the token endpoint answers 503 with Retry-After', async () => {
    const fleet = await harness.start();
    harness.stack().setFault({ kind: 'status', status: 503, retryAfterSeconds: 30 });
    const before = harness.stack().tokenRequests();
    const results = harness.keep(await fleet.burst(20));
    await expectTokenRequests(harness, fleet, before, 1);
    expect(results.every((r) => r.error?.code === 'ERR_STEADFAST_TOKEN_UNAVAILABLE')).toBe(true);
    expect(new Set(results.map((r) => r.error?.reason))).toEqual(new Set(['503']));
    // A second wave inside the Retry-After window does not reach the token endpoint at all.
    harness.keep(await fleet.burst(5));
    await expectTokenRequests(harness, fleet, before, 1);
  });

  it('answers a wrong client secret with a typed invalid_client error and one token request for the whole fleet', async () => {
    const fleet = await harness.start({ clientSecret: 'definitely-not-the-secret' });
    const before = harness.stack().tokenRequests();
    const results = harness.keep(await fleet.burst(CONCURRENCY));
    harness.keep(await fleet.burst(10));
    await expectTokenRequests(harness, fleet, before, 1);
    expect(results.every((r) => r.error?.reason === 'invalid_client')).toBe(true);
    const message = results[0]!.error!.message;
    expect(message).toContain('invalid_client');
    expect(message).not.toContain('definitely-not-the-secret');
  });
}

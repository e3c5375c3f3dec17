/**
 * A fleet of 4 instances (separate processes) sharing one token through a private
 * redis-server, against a real OAuth2 server (oidc-provider) and a resource server that
 * introspects every token.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OAuthStack, startOAuthStack } from '../helpers/oauth.js';
import { type RedisInstance, startRedis } from '../helpers/redis.js';
import type { WorkerInit } from './fixtures/fleet-worker.js';
import { type Fleet, startFleet } from './fleet.js';

const INSTANCES = 4;
const CONCURRENCY = 50;

let stack: OAuthStack;
let redis: RedisInstance;
let fleet: Fleet | undefined;
let prefixCounter = 0;

beforeAll(async () => {
  [stack, redis] = await Promise.all([startOAuthStack({ ttlSeconds: 300 }), startRedis()]);
});
afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
  stack.setFault({ kind: 'none' });
});
afterAll(async () => {
  await Promise.all([stack?.close(), redis?.stop()]);
});

function init(overrides: Partial<WorkerInit['auth']> = {}): WorkerInit {
  prefixCounter += 1;
  return {
    apiUrl: stack.apiUrl,
    auth: {
      tokenUrl: stack.tokenUrl,
      clientId: stack.client.clientId,
      clientSecret: stack.client.clientSecret,
      scope: stack.client.scope,
      ...overrides,
    },
    store: { kind: 'redis', url: redis.url, keyPrefix: `t${prefixCounter}:` },
  };
}

const flat = <T>(perInstance: T[][]): T[] => perInstance.flat();

describe('a fleet sharing one token through Redis', () => {
  it('makes exactly one token request for a cold start of 4 instances x 50 concurrent calls', async () => {
    fleet = await startFleet(INSTANCES, init());
    const before = stack.tokenRequests();
    const results = flat(await fleet.burst(CONCURRENCY));
    expect(results.filter((r) => r.status === 200)).toHaveLength(INSTANCES * CONCURRENCY);
    expect(stack.tokenRequests() - before).toBe(1);
  });

  it('survives a revocation with every call in flight getting 401 and makes exactly one new token request', async () => {
    fleet = await startFleet(INSTANCES, init());
    await fleet.burst(1); // warm: every instance holds the token in L1
    const before = stack.tokenRequests();
    expect(await stack.idp.revokeAll()).toBeGreaterThan(0);
    const results = flat(await fleet.burst(CONCURRENCY));
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(stack.tokenRequests() - before).toBe(1);
    // Most 401s were absorbed without a token request: only one instance deleted the token.
    const reports = await fleet.report();
    const deleted = reports.reduce((sum, r) => sum + (r.counts['invalidation.deleted'] ?? 0), 0);
    expect(deleted).toBe(1);
  });
});

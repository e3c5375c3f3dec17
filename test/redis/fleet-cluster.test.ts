/**
 * The same fleet scenarios against a real 3-node Redis Cluster: every key of a credential
 * shares one hash tag, so each Lua script runs on one slot.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { type RedisCluster, startRedisCluster } from '../helpers/redis.js';
import { COORDINATION_TIMEOUT_MS, fleetBasics, useFleetHarness } from './fleet-scenarios.js';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
});
afterAll(async () => {
  await cluster?.stop();
});

describe('a fleet sharing one token through a 3-node Redis Cluster', () => {
  const harness = useFleetHarness((keyPrefix) => ({
    kind: 'redis',
    clusterNodes: [...cluster.urls],
    keyPrefix,
    commandTimeoutMs: COORDINATION_TIMEOUT_MS,
  }));
  fleetBasics(harness);
});

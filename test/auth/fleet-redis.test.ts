/**
 * A fleet of 4 instances (separate processes) sharing one token through a private
 * redis-server, against a real OAuth2 server and an introspecting resource server.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { type RedisInstance, startRedis } from '../helpers/redis.js';
import { COORDINATION_TIMEOUT_MS, fleetBasics, useFleetHarness } from './fleet-scenarios.js';

let redis: RedisInstance;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('a fleet sharing one token through Redis', () => {
  const harness = useFleetHarness((keyPrefix) => ({
    kind: 'redis',
    url: redis.url,
    keyPrefix,
    commandTimeoutMs: COORDINATION_TIMEOUT_MS,
  }));
  fleetBasics(harness);
});

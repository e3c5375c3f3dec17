/**
 * A fleet of 4 instances (separate processes) sharing one token through a private
 * redis-server, against a real OAuth2 server and an introspecting resource server.
 */
import { describe } from 'vitest';
import { usePrivateRedis } from '../helpers/redis.js';
import { fleetBasics, redisStoreOf, useFleetHarness } from './fleet-scenarios.js';

const redis = usePrivateRedis();

describe('a fleet sharing one token through Redis', () => {
  const harness = useFleetHarness(redisStoreOf(redis));
  fleetBasics(harness);
});

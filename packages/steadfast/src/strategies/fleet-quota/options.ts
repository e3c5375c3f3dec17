// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (options.ts)

import type { CallContext } from '../../pipeline/types.js';
import type { QuotaStore } from './store.js';

/**
 * A fleet-wide quota: `limit` permits per `intervalMs` shared by every instance that uses the same
 * `key` and store — the downstream's "600 requests per minute per client id". Every wire attempt
 * takes a permit. Instances lease permits in batches sized from their recent rate (GCRA in one Lua
 * script on Redis), so the steady state costs far less than one Redis command per call, and every
 * permit has its time slot, so the fleet never goes over the limit by more than `burst`. While the
 * store is down each instance keeps to its share (`limit` ÷ the last fleet size it saw, or
 * `fallbackLimit`) and rejoins when the store is back.
 */
export interface QuotaOptions {
  /** The quota's name in the store, e.g. the client id the downstream counts by. Required. */
  readonly key: string;
  /** Permits per `intervalMs` for the whole fleet. Required. */
  readonly limit: number;
  /**
   * The interval `limit` is counted over, in ms.
   *
   * @defaultValue `1_000` (1 s)
   */
  readonly intervalMs?: number;
  /**
   * Permits the fleet may use at once after a quiet period; `1` spreads them evenly over the
   * interval.
   *
   * @defaultValue `1`
   */
  readonly burst?: number;
  /**
   * Where the fleet shares the quota: a `redisTokenStore(...)`, or `memoryQuotaStore()` for one
   * process.
   *
   * @defaultValue the `auth` token store when it can share quotas (`redisTokenStore`), else this process's memory
   */
  readonly store?: QuotaStore;
  /**
   * Permits one wire attempt takes: a number, or a function read per attempt (a call can carry its
   * weight in its `context` option). A number larger than the limiter ever holds fails here; a
   * function that returns one fails that attempt with `RateLimitedError` of reason
   * `weight_exceeds_capacity`.
   *
   * @defaultValue 1 per attempt
   */
  readonly weight?: number | ((ctx: CallContext) => number);
  /**
   * Longest an attempt waits for its permit, in ms; `0` fails at once when none is free.
   *
   * @defaultValue the call's deadline
   */
  readonly maxWaitMs?: number;
  /**
   * How much of this instance's recent rate one lease covers, in ms: longer leases cost fewer
   * store commands and let one instance hold permits the others wait for.
   *
   * @defaultValue `300` (300 ms)
   */
  readonly leaseMs?: number;
  /**
   * Permits per `intervalMs` this instance allows itself while the store is down and it never
   * learnt the fleet size.
   *
   * @defaultValue `limit` ÷ 10
   */
  readonly fallbackLimit?: number;
}

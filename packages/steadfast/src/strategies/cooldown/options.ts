// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (options.ts)

import type { CallContext } from '../../pipeline/types.js';
import type { CooldownStore } from './store.js';

/**
 * Server-driven cooldown: a `429` or `503` with `Retry-After`, or a `RateLimit` (IETF httpapi
 * draft), `RateLimit-Remaining: 0` or `X-RateLimit-Remaining: 0` answer with its reset, pauses
 * that scope (the origin, by default) until the time the server named (at most `maxMs`) — for the
 * whole fleet when the store is shared (Redis), for this process otherwise. Attempts in the pause
 * wait for its end within their deadline (or `maxWaitMs`), else fail at once with
 * `RateLimitedError` carrying the time left; after the pause one attempt in the fleet goes first
 * as a probe, and the rest follow when it is answered.
 */
export interface CooldownOptions {
  /**
   * Longest pause a server can ask for, in ms; a longer one is cut to it.
   *
   * @defaultValue `60_000` (1 min)
   */
  readonly maxMs?: number;
  /**
   * The scope one answer pauses.
   *
   * @defaultValue the attempt's origin
   */
  readonly partition?: (ctx: CallContext) => string;
  /**
   * Namespace of the pauses in the store: clients sharing it pause together.
   *
   * @defaultValue the client's `name`
   */
  readonly key?: string;
  /**
   * Where the fleet shares pauses: a `redisTokenStore(...)`, or `memoryCooldownStore()` for one
   * process.
   *
   * @defaultValue the `auth` token store when it can share cooldowns (`redisTokenStore`), else this process's memory
   */
  readonly store?: CooldownStore;
  /**
   * Longest an attempt waits for a pause to end, in ms; `0` fails at once.
   *
   * @defaultValue the call's deadline
   */
  readonly maxWaitMs?: number;
  /**
   * How long the fleet waits for the probe's answer before another instance may probe, in ms.
   *
   * @defaultValue `10_000` (10 s)
   */
  readonly probeTimeoutMs?: number;
}

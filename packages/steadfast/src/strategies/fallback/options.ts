// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (options.ts)

import type { FallbackTrigger } from '../../config/fallback-schema.js';
import type { CallContext, Outcome } from '../../pipeline/types.js';

/**
 * Serve stale: the last good answer to the same cache key, within `maxAgeMs`, in place of a
 * failure `fallback.on` names. Good answers are `200`, `203` and `204` (whole representations; a
 * `206` is a part, a `201` or `202` reports an action) without `Cache-Control: no-store` or `Vary:
 * *`. A body is recorded as the caller reads it — never read ahead, streaming unchanged — and kept
 * only when the caller read all of it and it fits `maxEntryBytes`. A stale answer carries
 * `x-steadfast-fallback: stale` and `age` (seconds) headers.
 */
export interface ServeStaleOptions {
  /**
   * Oldest answer served, in ms since it arrived; an older one is dropped.
   *
   * @defaultValue `300_000` (5 min)
   */
  readonly maxAgeMs?: number;
  /**
   * Most cache keys kept at once; past it, the least recently used entry goes.
   *
   * @defaultValue `1_000`
   */
  readonly maxEntries?: number;
  /**
   * Largest entry kept, in bytes (body and headers): a longer body is not copied past this bound
   * and is not kept. At most `maxTotalBytes`.
   *
   * @defaultValue `262_144` (256 KiB)
   */
  readonly maxEntryBytes?: number;
  /**
   * Bytes all entries may take together (bodies and headers); past it, the least recently used
   * entries go.
   *
   * @defaultValue `16_777_216` (16 MiB)
   */
  readonly maxTotalBytes?: number;
  /**
   * The cache key of a call, read when it starts (before the access token is attached): calls with
   * the same key share an entry; `undefined` keeps the call out of the cache (neither stored nor
   * served). Any method may be cached with it. Give one when the API's answer depends on a request
   * header, or on who asks (`ctx.context`).
   *
   * @defaultValue GET and HEAD only: method, origin and path with its query (`GET http://api:8080/items?page=2`); a call with an `authorization` or `cookie` header of its own (not the client's `headers` or its `auth` token) is not cached
   */
  readonly key?: (ctx: CallContext) => string | undefined;
}

/**
 * Fallback: an answer in place of a failure the call would end with — the last good answer to the
 * same request (`serveStale`), then the `handler`'s. Only for the failures `on` names; every other
 * outcome passes untouched, and a caller's abort or a closed client never gets one. A replacement
 * is marked: `x-steadfast-fallback: stale` (with `age`) or `handler`, and a `fallback` event. A
 * handler that throws ends the call with `FallbackError`, the original failure as its `cause`.
 */
export interface FallbackOptions {
  /**
   * The failures answered: `circuit_open`, `timeout`, `server_error` (a 5xx but 501, after the
   * retries), `rate_limited` (`RateLimitedError`, or a 429 after the retries),
   * `concurrency_limited`, `network`.
   *
   * @defaultValue all six
   */
  readonly on?: readonly FallbackTrigger[];
  /**
   * Called when no stale answer fits: return a `Response` (its body read whole is bounded by the
   * call's `maxResponseBytes`), any other value (a JSON `200`), or `undefined` to let the failure
   * stand; may be async. Reading the failed response's body consumes it.
   *
   * @defaultValue none
   */
  readonly handler?: (ctx: CallContext, outcome: Outcome, trigger: FallbackTrigger) => unknown;
  /**
   * Serve stale: the last good answer to the same cache key, within `maxAgeMs`, in place of a
   * failure `fallback.on` names. Good answers are `200`, `203` and `204` (whole representations; a
   * `206` is a part, a `201` or `202` reports an action) without `Cache-Control: no-store` or
   * `Vary: *`. A body is recorded as the caller reads it — never read ahead, streaming unchanged —
   * and kept only when the caller read all of it and it fits `maxEntryBytes`. A stale answer
   * carries `x-steadfast-fallback: stale` and `age` (seconds) headers. `false` turns it off.
   *
   * @defaultValue on, with the defaults of {@link ServeStaleOptions}
   */
  readonly serveStale?: ServeStaleOptions | false;
}

// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (options.ts)

/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"), per origin: over the
 * last `windowMs` this client counts its `requests` (every wire attempt, those it refused itself
 * included) and the `accepts` (attempts the backend did not refuse: any answer but a 429, 503 or
 * 504, no timeout on the wire, no connection failure), and refuses an attempt itself, before it is
 * sent, with probability max(0, (requests − k × accepts) / (requests + 1)). A backend that accepts
 * everything sees no change; one that refuses gets about `k` times what it accepts, the rest
 * refused locally at no cost to it. A local refusal is `RateLimitedError` (limiter
 * `adaptive_throttle`, reason `throttled`), never retried.
 */
export interface AdaptiveThrottleOptions {
  /**
   * The multiplier: attempts go to the backend until requests reach `k` × accepts, in [1, 100].
   * Lower throttles sooner (1.1 is aggressive); higher wastes more of the backend on refusals.
   *
   * @defaultValue `2`
   */
  readonly k?: number;
  /**
   * The history requests and accepts are counted over, in ms. Longer is steadier, and slower to
   * open again once the backend recovers.
   *
   * @defaultValue `120_000` (2 min)
   */
  readonly windowMs?: number;
  /**
   * The window is counted in this many buckets; the oldest goes as a whole.
   *
   * @defaultValue `12`
   */
  readonly buckets?: number;
  /**
   * Most origins counted at once; past it the least recently used is forgotten.
   *
   * @defaultValue `1_000`
   */
  readonly maxOrigins?: number;
  /**
   * Source of randomness in [0, 1) for the draws; pass a seeded one for repeatable runs.
   *
   * @defaultValue `Math.random`
   */
  readonly random?: () => number;
}

// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (options.ts)

import type { CallContext } from '../../pipeline/types.js';

/** How the in-process rate limiter counts. */
export type RateLimitAlgorithm = 'token_bucket' | 'sliding_window' | 'fixed_window';

/**
 * An in-process rate limiter (Polly's token bucket, sliding window and fixed window): every wire
 * attempt — retries and 401 re-sends included, as the server counts them — takes a permit. An
 * attempt waits for its permit in FIFO order up to the call's deadline (or `maxWaitMs`); one that
 * cannot get it in time fails with `RateLimitedError` (never retried), carrying the wait it would
 * have needed.
 */
export interface RateLimitOptions {
  /**
   * `token_bucket`: `limit` permits per `intervalMs` trickle into a bucket of `burst`;
   * `sliding_window`: at most `limit` in any `intervalMs` (counted in `segments`); `fixed_window`:
   * at most `limit` per window of `intervalMs` from the first permit on.
   *
   * @defaultValue `'token_bucket'`
   */
  readonly algorithm?: RateLimitAlgorithm;
  /** Permits per `intervalMs`. Required; a whole number for the window algorithms. */
  readonly limit: number;
  /**
   * The interval `limit` is counted over, in ms.
   *
   * @defaultValue `1_000` (1 s)
   */
  readonly intervalMs?: number;
  /**
   * Token bucket: the most permits it holds, what may go at once after a quiet period.
   *
   * @defaultValue `limit` (rounded up)
   */
  readonly burst?: number;
  /**
   * Sliding window: segments the window is counted in (more is smoother and costs more memory).
   *
   * @defaultValue `10`
   */
  readonly segments?: number;
  /**
   * Partition key of a wire attempt: each partition has its own limiter (e.g. `(ctx) =>
   * ctx.origin`, or per operation).
   *
   * @defaultValue one limiter for the whole client
   */
  readonly partition?: (ctx: CallContext) => string;
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
   * Attempts that may wait per partition; past it an attempt fails with reason `queue_full`.
   *
   * @defaultValue `10_000`
   */
  readonly queueLimit?: number;
  /**
   * Most partitions kept at once; an idle one (full again, nobody waiting) is dropped first.
   *
   * @defaultValue `1_000`
   */
  readonly maxPartitions?: number;
}

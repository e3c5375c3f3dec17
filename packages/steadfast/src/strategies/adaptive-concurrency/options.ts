// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (options.ts)

/** The algorithm that moves an adaptive concurrency limit. */
export type AdaptiveAlgorithm = 'gradient' | 'aimd';

/**
 * An adaptive concurrency limit per origin, in place of the fixed client-wide `concurrency.limit`
 * (Netflix concurrency-limits' idea: a limit found the way TCP finds its window).
 * `concurrency.queue` keeps its meaning, per origin; a call past the limit and the queue fails at
 * once with `ConcurrencyLimitedError`, never retried. What the limit learns from is each call that
 * was sent once: its time from admission to outcome, or a drop — a 429, 503 or 504, a timeout, a
 * network error, or a call that was re-sent (its time holds a backoff, so it is no round trip).
 */
export interface AdaptiveConcurrencyOptions {
  /**
   * `gradient`: compares the recent round trip with a long-term baseline and holds the limit where
   * latency starts to grow (a queue of √limit allowed); reacts to queueing before anything fails.
   * `aimd`: grows by one per limit's worth of calls while the limit is in use, and is cut by
   * `backoffRatio` on a drop or a call slower than `latencyThresholdMs`; reacts to failures only.
   *
   * @defaultValue `'gradient'`
   */
  readonly algorithm?: AdaptiveAlgorithm;
  /**
   * The limit an origin starts at: from its first call with AIMD; with the gradient, once its
   * first baseline is measured (with `minLimit` calls in flight).
   *
   * @defaultValue `20`
   */
  readonly initialLimit?: number;
  /**
   * The limit never goes below this; the gradient measures its baseline latency with this many
   * calls in flight.
   *
   * @defaultValue `1`
   */
  readonly minLimit?: number;
  /**
   * The limit never goes above this.
   *
   * @defaultValue `1_000`
   */
  readonly maxLimit?: number;
  /**
   * Most origins with a limit of their own at once; past it, the least recently used origin with
   * nothing in flight or queued is forgotten (it starts again at `initialLimit`).
   *
   * @defaultValue `1_000`
   */
  readonly maxOrigins?: number;
  /**
   * Gradient: the sample window, in ms. The limit moves once per window, when the window has at
   * least `minWindowSamples` calls (a quieter window is extended).
   *
   * @defaultValue `100` (100 ms)
   */
  readonly windowMs?: number;
  /**
   * Gradient: calls a window needs before the limit moves.
   *
   * @defaultValue `10`
   */
  readonly minWindowSamples?: number;
  /**
   * Gradient: how much slower than the baseline the recent round trip may be before the limit
   * shrinks, in [1, 10]; `1` shrinks at the first sign of queueing, larger values keep more in
   * flight (and more latency).
   *
   * @defaultValue `1.5`
   */
  readonly tolerance?: number;
  /**
   * Gradient: the share of a new estimate taken each window, in (0, 1]; lower is steadier and
   * slower.
   *
   * @defaultValue `0.2`
   */
  readonly smoothing?: number;
  /**
   * Gradient: how often the baseline latency is measured again while the limit is the bottleneck,
   * in ms. It is measured with `minLimit` calls in flight until `minWindowSamples` of them came
   * back (3 once it has run a second) — when an origin is first called, then at most this often,
   * and at least 20 × the length of the last measurement apart — and the limit goes back to where
   * it was.
   *
   * @defaultValue `30_000` (30 s)
   */
  readonly baselineIntervalMs?: number;
  /**
   * AIMD: the limit is multiplied by this on a drop, in [0.5, 0.99] (at least one less). At most
   * once per round: drops of calls sent before the last cut do not cut again.
   *
   * @defaultValue `0.9` (90 %)
   */
  readonly backoffRatio?: number;
  /**
   * AIMD: a call slower than this counts as a drop, in ms.
   *
   * @defaultValue `5_000` (5 s)
   */
  readonly latencyThresholdMs?: number;
}

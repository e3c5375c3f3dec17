// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (options.ts)

import type { CallContext } from '../../pipeline/types.js';

/** How the attempts of a call are spread over an endpoint group. */
export type HedgingRouting = 'ordered' | 'weighted';

/** One endpoint of a group: an origin (`https://eu.api.example`), or an origin and its weight. */
export type HedgingEndpoint = string | { readonly url: string; readonly weight?: number };

/**
 * How the hedge delay is learnt per origin when `delayMs` is not given: a quantile of the origin's
 * recent attempt durations (a ring of the last `samples`), recomputed every `samples` ÷ 16 new
 * ones and held within [`minMs`, `maxMs`]. An attempt cancelled because another answered first
 * says only "at least this long": it is kept when that is past the delay in force (it is above the
 * quantile either way) and left out otherwise, so hedging never pulls its own delay down.
 */
export interface HedgingDelayOptions {
  /**
   * The quantile of recent attempt durations used as the delay, in (0, 0.999].
   *
   * @defaultValue `0.9`
   */
  readonly quantile?: number;
  /**
   * Lower bound of a learnt delay, in ms.
   *
   * @defaultValue `1` (1 ms)
   */
  readonly minMs?: number;
  /**
   * Upper bound of a learnt delay, in ms; also the delay of an origin with fewer than `minSamples`
   * samples.
   *
   * @defaultValue `2_000` (2 s)
   */
  readonly maxMs?: number;
  /**
   * Recent attempt durations kept per origin (8 bytes each).
   *
   * @defaultValue `256`
   */
  readonly samples?: number;
  /**
   * Samples an origin needs before its delay is learnt; until then the delay is `maxMs`.
   *
   * @defaultValue `20`
   */
  readonly minSamples?: number;
  /**
   * Origins whose durations are kept at once; past it, the least recently used one is dropped.
   *
   * @defaultValue `100`
   */
  readonly maxOrigins?: number;
}

/**
 * Hedging budget: in a sliding window, hedges may be at most `minPerSecond` × the window's seconds
 * + `ratio` × the calls hedging saw. A hedge the budget refuses is not sent then (`hedge` event
 * with `skipped: 'budget_exhausted'`); the call asks again at twice the wait while it is
 * unanswered, and half of `ratio` is kept for such calls, so a short budget goes to the calls that
 * stay slow. An attempt that replaces one that was never sent (its endpoint's breaker open,
 * connection refused, no permit) takes nothing from it.
 */
export interface HedgingBudgetOptions {
  /**
   * Extra attempts per call in the window, in [0, 1].
   *
   * @defaultValue `0.1` (10 %)
   */
  readonly ratio?: number;
  /**
   * Hedges per second always allowed, whatever the traffic.
   *
   * @defaultValue `1`
   */
  readonly minPerSecond?: number;
  /**
   * Sliding window length, in [1 000, 600 000] ms.
   *
   * @defaultValue `10_000` (10 s)
   */
  readonly windowMs?: number;
}

/**
 * Latency hedging, opt-in: when the first attempt of a call has not answered within the hedge
 * delay, another is sent — to the same origin, or to the next endpoint of `endpoints` — and the
 * first acceptable outcome wins (not transient, not refused by its endpoint's breaker); the others
 * are cancelled (their requests aborted, sockets released, late bodies dumped). An unacceptable
 * outcome sends the next hedge at once. Only for idempotent calls (GET, HEAD, OPTIONS, PUT,
 * DELETE, TRACE, a call with an `Idempotency-Key` or `idempotent: true`) unless
 * `hedgeUnsafeMethods`, and never with a one-shot body. The layer sits inside retry and the
 * deadline and outside re-authorization, admission, hooks and the breaker: every hedged attempt
 * carries its own token, takes its own permits and meets the breaker of its endpoint.
 */
export interface HedgingOptions {
  /**
   * Hedges a call may send besides its first attempt, in [1, 10].
   *
   * @defaultValue `1`
   */
  readonly maxHedgedAttempts?: number;
  /**
   * A fixed hedge delay, in ms (`0` sends every attempt at once).
   *
   * @defaultValue learnt per origin (`learnedDelay`)
   */
  readonly delayMs?: number;
  /**
   * How the hedge delay is learnt per origin when `delayMs` is not given: a quantile of the
   * origin's recent attempt durations (a ring of the last `samples`), recomputed every `samples` ÷
   * 16 new ones and held within [`minMs`, `maxMs`]. An attempt cancelled because another answered
   * first says only "at least this long": it is kept when that is past the delay in force (it is
   * above the quantile either way) and left out otherwise, so hedging never pulls its own delay
   * down.
   *
   * @defaultValue on, with the defaults of {@link HedgingDelayOptions}
   */
  readonly learnedDelay?: HedgingDelayOptions;
  /**
   * Hedging budget: in a sliding window, hedges may be at most `minPerSecond` × the window's
   * seconds + `ratio` × the calls hedging saw. A hedge the budget refuses is not sent then
   * (`hedge` event with `skipped: 'budget_exhausted'`); the call asks again at twice the wait
   * while it is unanswered, and half of `ratio` is kept for such calls, so a short budget goes to
   * the calls that stay slow. An attempt that replaces one that was never sent (its endpoint's
   * breaker open, connection refused, no permit) takes nothing from it. `false` turns it off.
   *
   * @defaultValue on, with the defaults of {@link HedgingBudgetOptions}
   */
  readonly budget?: HedgingBudgetOptions | false;
  /**
   * Hedge POST and PATCH calls too, without an `Idempotency-Key` or `idempotent: true`: the server
   * may then act on one call several times.
   *
   * @defaultValue `false`
   */
  readonly hedgeUnsafeMethods?: boolean;
  /**
   * An endpoint group: origins that serve the same API (replicas, regions). A call to one of them
   * is routed by the group — its attempts go to the group's endpoints in `routing` order, each
   * with its own circuit breaker — and the access token of `auth` goes to all of them when one is
   * an origin it is for. A call to any other origin hedges to its own origin.
   *
   * @defaultValue none: every call hedges to its own origin
   */
  readonly endpoints?: readonly HedgingEndpoint[];
  /**
   * `ordered`: the first attempt goes to the first endpoint, each hedge to the next (failover);
   * `weighted`: the first attempt goes to an endpoint drawn by `weight`, each hedge to another one
   * drawn among those not tried yet.
   *
   * @defaultValue `'ordered'`
   */
  readonly routing?: HedgingRouting;
  /**
   * Decide per call whether it may be hedged, after the method and body rules (e.g. `(ctx) =>
   * ctx.context.hedge !== false`).
   *
   * @defaultValue every call the method and body rules allow
   */
  readonly shouldHedge?: (ctx: CallContext) => boolean;
  /**
   * Source of randomness in [0, 1) for `weighted` routing; pass a seeded one for repeatable runs.
   *
   * @defaultValue `Math.random`
   */
  readonly random?: () => number;
}

import {
  functionOption,
  MAX_TIMEOUT_MS,
  numberOption,
  oneOfOption,
  optionsObject,
} from './schema.js';

/**
 * The options of the two strategies that learn how much an API takes instead of being told:
 * the adaptive concurrency limit (`concurrency.adaptive`, per origin, AIMD or gradient) and
 * client-side adaptive throttling (`adaptiveThrottle`, the SRE book's). Their interfaces are
 * generated into strategies/adaptive-concurrency/options.ts and
 * strategies/adaptive-throttle/options.ts.
 */

export const ADAPTIVE_ALGORITHMS = ['gradient', 'aimd'] as const;

const MAX_LIMIT = 1_000_000;

const limitOption = (defaultValue: number, doc: string) =>
  numberOption({ default: defaultValue, min: 1, max: MAX_LIMIT, integer: true, doc });

export const adaptiveConcurrencySchema = optionsObject(
  'AdaptiveConcurrencyOptions',
  "An adaptive concurrency limit per origin, in place of the fixed client-wide `concurrency.limit` (Netflix concurrency-limits' idea: a limit found the way TCP finds its window). `concurrency.queue` keeps its meaning, per origin; a call past the limit and the queue fails at once with `ConcurrencyLimitedError`, never retried. What the limit learns from is each call that was sent once: its time from admission to outcome, or a drop — a 429, 503 or 504, a timeout, a network error, or a call that was re-sent (its time holds a backoff, so it is no round trip).",
  {
    algorithm: oneOfOption(ADAPTIVE_ALGORITHMS, {
      default: 'gradient',
      type: 'AdaptiveAlgorithm',
      doc: "`gradient`: compares the recent round trip with a long-term baseline and holds the limit where latency starts to grow (a queue of √limit allowed); reacts to queueing before anything fails. `aimd`: grows by one per limit's worth of calls while the limit is in use, and is cut by `backoffRatio` on a drop or a call slower than `latencyThresholdMs`; reacts to failures only.",
    }),
    initialLimit: limitOption(
      20, // Netflix's default
      'The limit an origin starts at: from its first call with AIMD; with the gradient, once its first baseline is measured (with `minLimit` calls in flight).',
    ),
    minLimit: limitOption(
      1,
      'The limit never goes below this; the gradient measures its baseline latency with this many calls in flight.',
    ),
    maxLimit: limitOption(
      1000, // the fixed limit's default
      'The limit never goes above this.',
    ),
    maxOrigins: numberOption({
      default: 1000, // origins with a limit at once, as circuitBreaker.maxOrigins
      min: 1,
      max: MAX_LIMIT,
      integer: true,
      doc: 'Most origins with a limit of their own at once; past it, the least recently used origin with nothing in flight or queued is forgotten (it starts again at `initialLimit`).',
    }),
    windowMs: numberOption({
      default: 100, // Envoy's update interval: a new limit 10 times a second (a window is extended until it has minWindowSamples calls)
      min: 10,
      max: MAX_TIMEOUT_MS,
      doc: 'Gradient: the sample window, in ms. The limit moves once per window, when the window has at least `minWindowSamples` calls (a quieter window is extended).',
    }),
    minWindowSamples: numberOption({
      default: 10,
      min: 1,
      max: MAX_LIMIT,
      integer: true,
      doc: 'Gradient: calls a window needs before the limit moves.',
    }),
    tolerance: numberOption({
      default: 1.5, // Netflix's Gradient2: latency may grow by half before the limit shrinks (a loaded client's own delays stay within it)
      min: 1,
      max: 10,
      doc: 'Gradient: how much slower than the baseline the recent round trip may be before the limit shrinks, in [1, 10]; `1` shrinks at the first sign of queueing, larger values keep more in flight (and more latency).',
    }),
    smoothing: numberOption({
      default: 0.2,
      above: 0,
      max: 1,
      doc: 'Gradient: the share of a new estimate taken each window, in (0, 1]; lower is steadier and slower.',
    }),
    baselineIntervalMs: numberOption({
      default: 30 * 1000, // 30 s (Envoy re-measures its minRTT every 60 s)
      min: 100,
      max: MAX_TIMEOUT_MS,
      doc: 'Gradient: how often the baseline latency is measured again while the limit is the bottleneck, in ms. It is measured with `minLimit` calls in flight until `minWindowSamples` of them came back (3 once it has run a second) — when an origin is first called, then at most this often, and at least 20 × the length of the last measurement apart — and the limit goes back to where it was.',
    }),
    backoffRatio: numberOption({
      default: 0.9,
      min: 0.5,
      max: 0.99,
      doc: 'AIMD: the limit is multiplied by this on a drop, in [0.5, 0.99] (at least one less). At most once per round: drops of calls sent before the last cut do not cut again.',
    }),
    latencyThresholdMs: numberOption({
      default: 5 * 1000, // 5 s, Netflix's AIMD timeout
      above: 0,
      max: MAX_TIMEOUT_MS,
      doc: 'AIMD: a call slower than this counts as a drop, in ms.',
    }),
  },
  [
    (a) =>
      a.minLimit > a.maxLimit
        ? ['minLimit', `must be ≤ maxLimit (${a.maxLimit}), got ${a.minLimit}`]
        : undefined,
    (a) =>
      a.initialLimit < a.minLimit || a.initialLimit > a.maxLimit
        ? [
            'initialLimit',
            `must be within [minLimit, maxLimit] ([${a.minLimit}, ${a.maxLimit}]), got ${a.initialLimit}`,
          ]
        : undefined,
  ],
);

export const adaptiveThrottleSchema = optionsObject(
  'AdaptiveThrottleOptions',
  'Client-side adaptive throttling (Google SRE book, "Handling Overload"), per origin: over the last `windowMs` this client counts its `requests` (every wire attempt, those it refused itself included) and the `accepts` (attempts the backend did not refuse: any answer but a 429, 503 or 504, no timeout on the wire, no connection failure), and refuses an attempt itself, before it is sent, with probability max(0, (requests − k × accepts) / (requests + 1)). A backend that accepts everything sees no change; one that refuses gets about `k` times what it accepts, the rest refused locally at no cost to it. A local refusal is `RateLimitedError` (limiter `adaptive_throttle`, reason `throttled`), never retried.',
  {
    k: numberOption({
      default: 2, // the book's value: the backend sees up to twice what it accepts
      min: 1,
      max: 100,
      doc: 'The multiplier: attempts go to the backend until requests reach `k` × accepts, in [1, 100]. Lower throttles sooner (1.1 is aggressive); higher wastes more of the backend on refusals.',
    }),
    windowMs: numberOption({
      default: 120 * 1000, // 2 min, as in the SRE book
      min: 100,
      max: 24 * 60 * 60 * 1000,
      doc: 'The history requests and accepts are counted over, in ms. Longer is steadier, and slower to open again once the backend recovers.',
    }),
    buckets: numberOption({
      default: 12, // 10 s each with the default window
      min: 1,
      max: 1000,
      integer: true,
      doc: 'The window is counted in this many buckets; the oldest goes as a whole.',
    }),
    maxOrigins: numberOption({
      default: 1000,
      min: 1,
      max: MAX_LIMIT,
      integer: true,
      doc: 'Most origins counted at once; past it the least recently used is forgotten.',
    }),
    random: functionOption<() => number>({
      type: '() => number',
      doc: 'Source of randomness in [0, 1) for the draws; pass a seeded one for repeatable runs.',
      defaultText: '`Math.random`',
    }),
  },
);

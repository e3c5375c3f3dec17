import { safeUrl } from '../errors.js';
import type { CallContext } from '../pipeline/types.js';
import {
  booleanOption,
  customOption,
  describe,
  describeType,
  functionOption,
  MAX_TIMEOUT_MS,
  nested,
  numberOption,
  oneOfOption,
  optionsObject,
  type Problem,
  type Resolved,
  section,
} from './schema.js';

/**
 * The options of the hedging layer, each declared once. Their interfaces are generated into
 * strategies/hedging/options.ts; the strategy (strategies/hedging/) reads the resolved form
 * `resolveHedging` makes of them.
 */

export const HEDGING_ROUTINGS = ['ordered', 'weighted'] as const;

/** Decide per call whether it may be hedged (after the method and body rules). */
export type ShouldHedge = (ctx: CallContext) => boolean;

/** One endpoint of a group as given: an origin, or an origin with its weight. */
export type EndpointInput = string | { readonly url: string; readonly weight?: number };

/** Most endpoints in one group (they are tracked per call in a bit set). */
export const MAX_ENDPOINTS = 16;
const MAX_WEIGHT = 1_000_000;

/** What is wrong with one endpoint URL: it must be an origin, without path, query or userinfo. */
function endpointUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a URL string, got ${describe(value)}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `must be an absolute http(s) URL, got "${safeUrl(value)}"`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `must use http: or https:, got ${url.protocol}`;
  if (url.username || url.password) return 'must not contain credentials';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash)
    return `must be an origin (scheme://host:port) without path or query, got "${url.origin}${url.pathname}"`;
  return undefined;
}

function endpointsProblem(value: unknown): Problem {
  if (!Array.isArray(value)) return `must be an array of endpoints, got ${describeType(value)}`;
  if (value.length < 1 || value.length > MAX_ENDPOINTS)
    return `must list 1–${MAX_ENDPOINTS} endpoints, got ${value.length}`;
  const seen = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    let url: unknown = item;
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      const { url: given, weight, ...rest } = item as Record<string, unknown>;
      const unknown = Object.keys(rest);
      if (unknown.length > 0)
        return [i, `has an unknown key "${unknown[0]}"; allowed: url, weight`];
      if (
        weight !== undefined &&
        !(typeof weight === 'number' && weight > 0 && weight <= MAX_WEIGHT)
      )
        return [i, `weight must be a number in (0, ${MAX_WEIGHT}], got ${describe(weight)}`];
      url = given;
    } else if (typeof item !== 'string') {
      return [i, `must be a URL string or { url, weight }, got ${describeType(item)}`];
    }
    const problem = endpointUrlProblem(url);
    if (problem) return [i, problem];
    const origin = new URL(url as string).origin;
    if (seen.has(origin)) return [i, `repeats the origin ${origin}`];
    seen.add(origin);
  }
  return undefined;
}

export const hedgingDelaySchema = optionsObject(
  'HedgingDelayOptions',
  'How the hedge delay is learnt per origin when `delayMs` is not given: a quantile of the origin\'s recent attempt durations (a ring of the last `samples`), recomputed every `samples` ÷ 16 new ones and held within [`minMs`, `maxMs`]. An attempt cancelled because another answered first says only "at least this long": it is kept when that is past the delay in force (it is above the quantile either way) and left out otherwise, so hedging never pulls its own delay down.',
  {
    quantile: numberOption({
      default: 0.9, // p90: one call in ten waits for its hedge, at most
      above: 0,
      max: 0.999,
      doc: 'The quantile of recent attempt durations used as the delay, in (0, 0.999].',
    }),
    minMs: numberOption({
      default: 1, // 1 ms: below it a hedge is all but a second request per call
      min: 0,
      max: MAX_TIMEOUT_MS,
      doc: 'Lower bound of a learnt delay, in ms.',
    }),
    maxMs: numberOption({
      default: 2 * 1000, // 2 s, the hedging delay Polly uses by default
      min: 1,
      max: MAX_TIMEOUT_MS,
      doc: 'Upper bound of a learnt delay, in ms; also the delay of an origin with fewer than `minSamples` samples.',
    }),
    samples: numberOption({
      default: 256,
      min: 16,
      max: 65_536,
      integer: true,
      doc: 'Recent attempt durations kept per origin (8 bytes each).',
    }),
    minSamples: numberOption({
      default: 20,
      min: 1,
      integer: true,
      doc: 'Samples an origin needs before its delay is learnt; until then the delay is `maxMs`.',
    }),
    maxOrigins: numberOption({
      default: 100,
      min: 1,
      max: 100_000,
      integer: true,
      doc: 'Origins whose durations are kept at once; past it, the least recently used one is dropped.',
    }),
  },
  [
    (d) =>
      d.maxMs < d.minMs
        ? ['maxMs', `must be ≥ hedging.learnedDelay.minMs (${d.minMs}), got ${d.maxMs}`]
        : undefined,
    (d) =>
      d.minSamples > d.samples
        ? [
            'minSamples',
            `must be ≤ hedging.learnedDelay.samples (${d.samples}), got ${d.minSamples}`,
          ]
        : undefined,
  ],
);

export const hedgingBudgetSchema = optionsObject(
  'HedgingBudgetOptions',
  "Hedging budget: in a sliding window, hedges may be at most `minPerSecond` × the window's seconds + `ratio` × the calls hedging saw. A hedge the budget refuses is not sent then (`hedge` event with `skipped: 'budget_exhausted'`); the call asks again at twice the wait while it is unanswered, and half of `ratio` is kept for such calls, so a short budget goes to the calls that stay slow. An attempt that replaces one that was never sent (its endpoint's breaker open, connection refused, no permit) takes nothing from it.",
  {
    ratio: numberOption({
      default: 0.1, // hedges may add at most 10 % to the calls of the window...
      min: 0,
      max: 1,
      doc: 'Extra attempts per call in the window, in [0, 1].',
    }),
    minPerSecond: numberOption({
      default: 1, // ...plus this floor, so a quiet client can still hedge
      min: 0,
      doc: 'Hedges per second always allowed, whatever the traffic.',
    }),
    windowMs: numberOption({
      default: 10 * 1000, // 10 s
      min: 1000,
      max: 10 * 60 * 1000,
      doc: 'Sliding window length, in [1 000, 600 000] ms.',
    }),
  },
);

export const hedgingSchema = optionsObject(
  'HedgingOptions',
  "Latency hedging, opt-in: when the first attempt of a call has not answered within the hedge delay, another is sent — to the same origin, or to the next endpoint of `endpoints` — and the first acceptable outcome wins (not transient, not refused by its endpoint's breaker); the others are cancelled (their requests aborted, sockets released, late bodies dumped). An unacceptable outcome sends the next hedge at once. Only for idempotent calls (GET, HEAD, OPTIONS, PUT, DELETE, TRACE, a call with an `Idempotency-Key` or `idempotent: true`) unless `hedgeUnsafeMethods`, and never with a one-shot body. The layer sits inside retry and the deadline and outside re-authorization, admission, hooks and the breaker: every hedged attempt carries its own token, takes its own permits and meets the breaker of its endpoint.",
  {
    maxHedgedAttempts: numberOption({
      default: 1,
      min: 1,
      max: 10,
      integer: true,
      doc: 'Hedges a call may send besides its first attempt, in [1, 10].',
    }),
    delayMs: numberOption({
      min: 0,
      max: MAX_TIMEOUT_MS,
      doc: 'A fixed hedge delay, in ms (`0` sends every attempt at once).',
      defaultText: 'learnt per origin (`learnedDelay`)',
    }),
    learnedDelay: nested(hedgingDelaySchema),
    budget: section(hedgingBudgetSchema, true),
    hedgeUnsafeMethods: booleanOption({
      default: false,
      doc: 'Hedge POST and PATCH calls too, without an `Idempotency-Key` or `idempotent: true`: the server may then act on one call several times.',
    }),
    endpoints: customOption<readonly EndpointInput[]>(endpointsProblem, {
      type: 'readonly HedgingEndpoint[]',
      doc: "An endpoint group: origins that serve the same API (replicas, regions). A call to one of them is routed by the group — its attempts go to the group's endpoints in `routing` order, each with its own circuit breaker — and the access token of `auth` goes to all of them when one is an origin it is for. A call to any other origin hedges to its own origin.",
      defaultText: 'none: every call hedges to its own origin',
    }),
    routing: oneOfOption(HEDGING_ROUTINGS, {
      default: 'ordered',
      type: 'HedgingRouting',
      doc: '`ordered`: the first attempt goes to the first endpoint, each hedge to the next (failover); `weighted`: the first attempt goes to an endpoint drawn by `weight`, each hedge to another one drawn among those not tried yet.',
    }),
    shouldHedge: functionOption<ShouldHedge>({
      type: '(ctx: CallContext) => boolean',
      doc: 'Decide per call whether it may be hedged, after the method and body rules (e.g. `(ctx) => ctx.context.hedge !== false`).',
      defaultText: 'every call the method and body rules allow',
    }),
    random: functionOption<() => number>({
      type: '() => number',
      doc: 'Source of randomness in [0, 1) for `weighted` routing; pass a seeded one for repeatable runs.',
      defaultText: '`Math.random`',
    }),
  },
  [
    (h) =>
      h.routing === 'weighted' && h.endpoints === undefined
        ? ['routing', '"weighted" needs `endpoints` to weigh']
        : undefined,
  ],
);

/** One endpoint of a group, resolved: its origin and its weight (1 unless given). */
export interface ResolvedEndpoint {
  readonly origin: string;
  readonly weight: number;
}

type ParsedHedging = Resolved<typeof hedgingSchema>;

/** The hedging options after validation, as the strategy reads them. */
export type ResolvedHedgingOptions = Readonly<Omit<ParsedHedging, 'endpoints' | 'random'>> & {
  /** The endpoint group, origins normalised; empty when none was given. */
  readonly endpoints: readonly ResolvedEndpoint[];
  readonly random: () => number;
};

/** The validated `hedging` options with their endpoints as origins and a source of randomness. */
export function resolveHedging(parsed: ParsedHedging): ResolvedHedgingOptions {
  const endpoints = (parsed.endpoints ?? []).map(
    (e): ResolvedEndpoint =>
      typeof e === 'string'
        ? { origin: new URL(e).origin, weight: 1 }
        : { origin: new URL(e.url).origin, weight: e.weight ?? 1 },
  );
  return { ...parsed, endpoints, random: parsed.random ?? Math.random };
}

import type { CallContext, Outcome } from '../pipeline/types.js';
import {
  customOption,
  describe,
  functionOption,
  MAX_TIMEOUT_MS,
  numberOption,
  optionsObject,
  type Problem,
  section,
} from './schema.js';

/**
 * The options of the fallback layer, declared once: `FallbackOptions` and `ServeStaleOptions`
 * (strategies/fallback/options.ts) are generated from this file by `npm run generate:options`.
 */

/**
 * The failures a fallback can answer for, as `fallback.on` names them:
 * - `circuit_open`: the origin's breaker is open (`CircuitOpenError`);
 * - `timeout`: an attempt timeout or the call's deadline (`TimeoutError`);
 * - `server_error`: a 5xx response (not 501) after the retries;
 * - `rate_limited`: an admission layer refused the attempt (`RateLimitedError`), or a 429
 *   after the retries;
 * - `concurrency_limited`: the client's concurrency limit was full (`ConcurrencyLimitedError`);
 * - `network`: no response (`NetworkError`: refused, reset, DNS, TLS).
 */
export const FALLBACK_TRIGGERS = [
  'circuit_open',
  'timeout',
  'server_error',
  'rate_limited',
  'concurrency_limited',
  'network',
] as const;

/** One of {@link FALLBACK_TRIGGERS}. */
export type FallbackTrigger = (typeof FALLBACK_TRIGGERS)[number];

/**
 * What the `fallback.handler` returns: a `Response` (served as it is), any other value
 * (served as a JSON `200`), or `undefined` (no answer: the failure stands). It may be a promise.
 */
export type FallbackHandler = (
  ctx: CallContext,
  outcome: Outcome,
  trigger: FallbackTrigger,
) => unknown;

/** The cache key of a call for serve-stale; `undefined` keeps the call out of the cache. */
export type StaleKey = (ctx: CallContext) => string | undefined;

function triggersProblem(value: unknown): Problem {
  if (!Array.isArray(value)) return `must be an array of triggers, got ${describe(value)}`;
  if (value.length === 0) return 'must name at least one trigger';
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item !== 'string' || !(FALLBACK_TRIGGERS as readonly string[]).includes(item))
      return [i, `must be one of ${FALLBACK_TRIGGERS.map((t) => `"${t}"`).join(', ')}`];
    if (value.indexOf(item) !== i) return [i, `names "${item}" twice`];
  }
  return undefined;
}

export const serveStaleSchema = optionsObject(
  'ServeStaleOptions',
  'Serve stale: the last good answer to the same cache key, within `maxAgeMs`, in place of a failure `fallback.on` names. Good answers are `200`, `203` and `204` (whole representations; a `206` is a part, a `201` or `202` reports an action) without `Cache-Control: no-store` or `Vary: *`. A body is recorded as the caller reads it — never read ahead, streaming unchanged — and kept only when the caller read all of it and it fits `maxEntryBytes`. A stale answer carries `x-steadfast-fallback: stale` and `age` (seconds) headers.',
  {
    maxAgeMs: numberOption({
      default: 5 * 60 * 1000, // 5 min: rides out a breaker's open periods and a deploy, and no one reads it as current
      above: 0,
      max: MAX_TIMEOUT_MS,
      doc: 'Oldest answer served, in ms since it arrived; an older one is dropped.',
    }),
    maxEntries: numberOption({
      default: 1000,
      min: 1,
      max: 1_000_000,
      integer: true,
      doc: 'Most cache keys kept at once; past it, the least recently used entry goes.',
    }),
    maxEntryBytes: numberOption({
      default: 256 * 1024, // 256 KiB: a large JSON answer; bigger bodies are not kept
      min: 0,
      integer: true,
      doc: 'Largest entry kept, in bytes (body and headers): a longer body is not copied past this bound and is not kept. At most `maxTotalBytes`.',
    }),
    maxTotalBytes: numberOption({
      default: 16 * 1024 * 1024, // 16 MiB for all entries
      min: 0,
      integer: true,
      doc: 'Bytes all entries may take together (bodies and headers); past it, the least recently used entries go.',
    }),
    key: functionOption<StaleKey>({
      type: '(ctx: CallContext) => string | undefined',
      doc: "The cache key of a call, read when it starts (before the access token is attached): calls with the same key share an entry; `undefined` keeps the call out of the cache (neither stored nor served). Any method may be cached with it. Give one when the API's answer depends on a request header, or on who asks (`ctx.context`).",
      defaultText:
        "GET and HEAD only: method, origin and path with its query (`GET http://api:8080/items?page=2`); a call with an `authorization` or `cookie` header of its own (not the client's `headers` or its `auth` token) is not cached",
    }),
  },
  [
    (s) =>
      s.maxEntryBytes > s.maxTotalBytes
        ? ['maxEntryBytes', `must be ≤ maxTotalBytes (${s.maxTotalBytes}), got ${s.maxEntryBytes}`]
        : undefined,
  ],
);

export const fallbackSchema = optionsObject(
  'FallbackOptions',
  "Fallback: an answer in place of a failure the call would end with — the last good answer to the same request (`serveStale`), then the `handler`'s. Only for the failures `on` names; every other outcome passes untouched, and a caller's abort or a closed client never gets one. A replacement is marked: `x-steadfast-fallback: stale` (with `age`) or `handler`, and a `fallback` event. A handler that throws ends the call with `FallbackError`, the original failure as its `cause`.",
  {
    on: customOption<readonly FallbackTrigger[], readonly FallbackTrigger[]>(triggersProblem, {
      default: FALLBACK_TRIGGERS,
      type: 'readonly FallbackTrigger[]',
      defaultText: 'all six',
      doc: 'The failures answered: `circuit_open`, `timeout`, `server_error` (a 5xx but 501, after the retries), `rate_limited` (`RateLimitedError`, or a 429 after the retries), `concurrency_limited`, `network`.',
    }),
    handler: functionOption<FallbackHandler>({
      type: '(ctx: CallContext, outcome: Outcome, trigger: FallbackTrigger) => unknown',
      doc: "Called when no stale answer fits: return a `Response` (its body read whole is bounded by the call's `maxResponseBytes`), any other value (a JSON `200`), or `undefined` to let the failure stand; may be async. Reading the failed response's body consumes it.",
      defaultText: 'none',
    }),
    serveStale: section(serveStaleSchema, true),
  },
  [
    (f) =>
      f.serveStale === false && f.handler === undefined
        ? ['handler', 'is required when serveStale is false (the fallback would answer nothing)']
        : undefined,
  ],
);

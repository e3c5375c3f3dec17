import type { CallContext } from '../pipeline/types.js';
import type { CooldownStore } from '../strategies/cooldown/store.js';
import type { QuotaStore } from '../strategies/fleet-quota/store.js';
import {
  customOption,
  describe,
  functionOption,
  MAX_TIMEOUT_MS,
  numberOption,
  objectWithMethods,
  oneOfOption,
  optionsObject,
  requiredNumber,
  requiredText,
  textOption,
} from './schema.js';

/**
 * The options of the three admission layers a wire attempt passes before it is sent — the
 * in-process rate limiter, the fleet quota and the server-driven cooldown — each declared
 * once. Their interfaces are generated into strategies/<layer>/options.ts.
 */

export const RATE_LIMIT_ALGORITHMS = ['token_bucket', 'sliding_window', 'fixed_window'] as const;

/** A partition key of a wire attempt (`(ctx) => ctx.origin`, or per operation). */
export type PartitionKey = (ctx: CallContext) => string;
/** The permits a wire attempt takes (its weight). */
export type AttemptWeight = (ctx: CallContext) => number;

const maxWait = (doc: string) =>
  numberOption({
    min: 0,
    max: MAX_TIMEOUT_MS,
    doc,
    defaultText: "the call's deadline",
  });

const weight = customOption<number | AttemptWeight>(
  (value) =>
    typeof value === 'function' ||
    (typeof value === 'number' && value > 0 && Number.isFinite(value))
      ? undefined
      : `must be a positive number or a function, got ${describe(value)}`,
  {
    type: 'number | ((ctx: CallContext) => number)',
    doc: 'Permits one wire attempt takes: a number, or a function read per attempt (a call can carry its weight in its `context` option). A number larger than the limiter ever holds fails here; a function that returns one fails that attempt with `RateLimitedError` of reason `weight_exceeds_capacity`.',
    defaultText: '1 per attempt',
  },
);

/** A fixed weight larger than what the limiter ever holds: it could never be granted. */
const weightAbove = (
  capacity: number,
  w: number | AttemptWeight | undefined,
): readonly [string, string] | undefined =>
  typeof w === 'number' && w > capacity
    ? ['weight', `must be ≤ ${capacity} (the most permits the limiter holds), got ${w}`]
    : undefined;

export const rateLimitSchema = optionsObject(
  'RateLimitOptions',
  "An in-process rate limiter (Polly's token bucket, sliding window and fixed window): every wire attempt — retries and 401 re-sends included, as the server counts them — takes a permit. An attempt waits for its permit in FIFO order up to the call's deadline (or `maxWaitMs`); one that cannot get it in time fails with `RateLimitedError` (never retried), carrying the wait it would have needed.",
  {
    algorithm: oneOfOption(RATE_LIMIT_ALGORITHMS, {
      default: 'token_bucket',
      type: 'RateLimitAlgorithm',
      doc: '`token_bucket`: `limit` permits per `intervalMs` trickle into a bucket of `burst`; `sliding_window`: at most `limit` in any `intervalMs` (counted in `segments`); `fixed_window`: at most `limit` per window of `intervalMs` from the first permit on.',
    }),
    limit: requiredNumber({
      above: 0,
      doc: 'Permits per `intervalMs`. Required; a whole number for the window algorithms.',
    }),
    intervalMs: numberOption({
      default: 1000, // 1 s
      min: 1,
      max: MAX_TIMEOUT_MS,
      doc: 'The interval `limit` is counted over, in ms.',
    }),
    burst: numberOption({
      min: 1,
      integer: true,
      doc: 'Token bucket: the most permits it holds, what may go at once after a quiet period.',
      defaultText: '`limit` (rounded up)',
    }),
    segments: numberOption({
      default: 10,
      min: 1,
      max: 1000,
      integer: true,
      doc: 'Sliding window: segments the window is counted in (more is smoother and costs more memory).',
    }),
    partition: functionOption<PartitionKey>({
      type: '(ctx: CallContext) => string',
      doc: 'Partition key of a wire attempt: each partition has its own limiter (e.g. `(ctx) => ctx.origin`, or per operation).',
      defaultText: 'one limiter for the whole client',
    }),
    weight,
    maxWaitMs: maxWait(
      'Longest an attempt waits for its permit, in ms; `0` fails at once when none is free.',
    ),
    queueLimit: numberOption({
      default: 10_000,
      min: 0,
      integer: true,
      doc: 'Attempts that may wait per partition; past it an attempt fails with reason `queue_full`.',
    }),
    maxPartitions: numberOption({
      default: 1000,
      min: 1,
      max: 1_000_000,
      integer: true,
      doc: 'Most partitions kept at once; an idle one (full again, nobody waiting) is dropped first.',
    }),
  },
  [
    (r) =>
      r.algorithm !== 'token_bucket' && !Number.isInteger(r.limit)
        ? ['limit', `must be a whole number for ${r.algorithm}, got ${r.limit}`]
        : undefined,
    (r) =>
      r.algorithm === 'token_bucket' && r.burst === undefined && r.limit < 1
        ? ['burst', `is required when limit is below 1 (got limit ${r.limit})`]
        : undefined,
    (r) =>
      weightAbove(
        r.algorithm === 'token_bucket' ? (r.burst ?? Math.ceil(r.limit)) : r.limit,
        r.weight,
      ),
  ],
);

export const quotaSchema = optionsObject(
  'QuotaOptions',
  'A fleet-wide quota: `limit` permits per `intervalMs` shared by every instance that uses the same `key` and store — the downstream\'s "600 requests per minute per client id". Every wire attempt takes a permit. Instances lease permits in batches sized from their recent rate (GCRA in one Lua script on Redis), so the steady state costs far less than one Redis command per call, and every permit has its time slot, so the fleet never goes over the limit by more than `burst`. While the store is down each instance keeps to its share (`limit` ÷ the last fleet size it saw, or `fallbackLimit`) and rejoins when the store is back.',
  {
    key: requiredText({
      pattern: /^[A-Za-z0-9_.:-]{1,128}$/,
      rule: '1–128 characters of letters, digits, "_", ".", ":" or "-"',
      doc: "The quota's name in the store, e.g. the client id the downstream counts by. Required.",
    }),
    limit: requiredNumber({
      above: 0,
      doc: 'Permits per `intervalMs` for the whole fleet. Required.',
    }),
    intervalMs: numberOption({
      default: 1000, // 1 s
      min: 1,
      max: MAX_TIMEOUT_MS,
      doc: 'The interval `limit` is counted over, in ms.',
    }),
    burst: numberOption({
      default: 1, // permits spread evenly: the strictest reading of any downstream window
      min: 1,
      integer: true,
      doc: 'Permits the fleet may use at once after a quiet period; `1` spreads them evenly over the interval.',
    }),
    store: objectWithMethods<QuotaStore>(['lease', 'attach', 'detach'], {
      type: 'QuotaStore',
      what: 'a quota store such as redisTokenStore(...)',
      doc: 'Where the fleet shares the quota: a `redisTokenStore(...)`, or `memoryQuotaStore()` for one process.',
      defaultText:
        "the `auth` token store when it can share quotas (`redisTokenStore`), else this process's memory",
    }),
    weight,
    maxWaitMs: maxWait(
      'Longest an attempt waits for its permit, in ms; `0` fails at once when none is free.',
    ),
    leaseMs: numberOption({
      default: 300, // at 100 calls/s a lease of ~30 permits: one Redis command per ~30 calls
      min: 10,
      max: 60 * 1000,
      doc: "How much of this instance's recent rate one lease covers, in ms: longer leases cost fewer store commands and let one instance hold permits the others wait for.",
    }),
    fallbackLimit: numberOption({
      above: 0,
      doc: 'Permits per `intervalMs` this instance allows itself while the store is down and it never learnt the fleet size.',
      defaultText: '`limit` ÷ 10',
    }),
  },
  [(q) => weightAbove(Math.max(q.limit, q.burst), q.weight)],
);

export const cooldownSchema = optionsObject(
  'CooldownOptions',
  'Server-driven cooldown: a `429` or `503` with `Retry-After`, or a `RateLimit` (IETF httpapi draft), `RateLimit-Remaining: 0` or `X-RateLimit-Remaining: 0` answer with its reset, pauses that scope (the origin, by default) until the time the server named (at most `maxMs`) — for the whole fleet when the store is shared (Redis), for this process otherwise. Attempts in the pause wait for its end within their deadline (or `maxWaitMs`), else fail at once with `RateLimitedError` carrying the time left; after the pause one attempt in the fleet goes first as a probe, and the rest follow when it is answered.',
  {
    maxMs: numberOption({
      default: 60 * 1000, // 60 s, as retry.maxRetryAfterMs
      min: 1,
      max: MAX_TIMEOUT_MS,
      doc: 'Longest pause a server can ask for, in ms; a longer one is cut to it.',
    }),
    partition: functionOption<PartitionKey>({
      type: '(ctx: CallContext) => string',
      doc: 'The scope one answer pauses.',
      defaultText: "the attempt's origin",
    }),
    key: textOption({
      pattern: /^[A-Za-z0-9_.:-]{1,128}$/,
      rule: '1–128 characters of letters, digits, "_", ".", ":" or "-"',
      doc: 'Namespace of the pauses in the store: clients sharing it pause together.',
      defaultText: "the client's `name`",
    }),
    store: objectWithMethods<CooldownStore>(['pause', 'claimProbe', 'resume', 'watch'], {
      type: 'CooldownStore',
      what: 'a cooldown store such as redisTokenStore(...)',
      doc: 'Where the fleet shares pauses: a `redisTokenStore(...)`, or `memoryCooldownStore()` for one process.',
      defaultText:
        "the `auth` token store when it can share cooldowns (`redisTokenStore`), else this process's memory",
    }),
    maxWaitMs: maxWait('Longest an attempt waits for a pause to end, in ms; `0` fails at once.'),
    probeTimeoutMs: numberOption({
      default: 10 * 1000, // 10 s, the default attempt timeout
      min: 1,
      max: MAX_TIMEOUT_MS,
      doc: "How long the fleet waits for the probe's answer before another instance may probe, in ms.",
    }),
  },
);

import { constants } from 'node:buffer';
import type { Dispatcher } from 'undici';
import type { Authorization } from '../auth/types.js';
import { safeUrl } from '../errors.js';
import type { CallContext, Outcome } from '../pipeline/types.js';
import { adaptiveConcurrencySchema, adaptiveThrottleSchema } from './adaptive-schema.js';
import { cooldownSchema, quotaSchema, rateLimitSchema } from './admission-schema.js';
import { fallbackSchema } from './fallback-schema.js';
import { hedgingSchema } from './hedging-schema.js';
import {
  booleanOption,
  customOption,
  describe,
  describeType,
  functionOption,
  listItem,
  listOption,
  MAX_TIMEOUT_MS,
  nested,
  numberOption,
  objectWithMethods,
  oneOfOption,
  optInSection,
  optionsObject,
  type Problem,
  plainObject,
  requiredText,
  section,
} from './schema.js';

/**
 * The options of `createClient`, each declared once: type, default, range and prose. The
 * defaults follow the standard resilience pipeline of Microsoft.Extensions.Http.Resilience.
 * `config/options.ts` (the documented interfaces) is generated from this file by
 * `npm run generate:options`; a test fails when it is stale.
 */

export const BACKOFF_KINDS = ['constant', 'linear', 'exponential'] as const;

/** What `shouldRetry` is given and returns. */
export type ShouldRetry = (outcome: Outcome, ctx: CallContext, byDefault: boolean) => boolean;

/** A duration option in ms, in (0, setTimeout's limit]. */
const timeout = (defaultMs: number, doc: string) =>
  numberOption({ default: defaultMs, above: 0, max: MAX_TIMEOUT_MS, doc });

export const retryBudgetSchema = optionsObject(
  'RetryBudgetOptions',
  'Retry budget: caps retries as a share of calls in a sliding window.',
  {
    ratio: numberOption({
      default: 0.2, // retries may add at most 20 % to the traffic of the window...
      min: 0,
      max: 1,
      doc: 'Share of calls in the window that may be retried, in [0, 1].',
    }),
    minRetriesPerSecond: numberOption({
      default: 10, // ...plus this floor, so low traffic can still retry
      min: 0,
      doc: 'Retries per second always allowed, whatever the traffic.',
    }),
    windowMs: numberOption({
      default: 10 * 1000, // 10 s
      min: 1000,
      max: 10 * 60 * 1000,
      doc: 'Sliding window length, in [1 000, 600 000] ms.',
    }),
  },
);

export const retrySchema = optionsObject(
  'RetryOptions',
  'Options of the retry strategy.',
  {
    maxRetries: numberOption({
      default: 3,
      min: 0,
      max: 100,
      integer: true,
      doc: 'Re-sends after the first attempt, in [0, 100]. `0` disables retries.',
    }),
    backoff: oneOfOption(BACKOFF_KINDS, {
      default: 'exponential',
      type: 'BackoffKind',
      doc: 'Shape of the delays between attempts.',
    }),
    jitter: booleanOption({ default: true, doc: 'Decorrelated jitter on the backoff delay.' }),
    baseDelayMs: numberOption({
      default: 2 * 1000, // 2 s
      min: 0,
      max: MAX_TIMEOUT_MS,
      doc: 'Delay before the first retry, in ms.',
    }),
    maxDelayMs: numberOption({
      default: 30 * 1000, // 30 s
      min: 0,
      max: MAX_TIMEOUT_MS,
      doc: 'Upper bound of a backoff delay, in ms; at least `baseDelayMs`.',
    }),
    maxRetryAfterMs: numberOption({
      default: 60 * 1000, // never wait longer than 60 s for a Retry-After
      min: 0,
      max: MAX_TIMEOUT_MS,
      doc: "Longest `Retry-After` the retry strategy waits for, in ms. A longer one (or one past the deadline) ends the call at once with the server's response: it never re-sends before the server's `Retry-After`.",
    }),
    retryUnsafeMethods: booleanOption({
      default: false,
      doc: 'Retry POST/PATCH on ambiguous failures too; otherwise only with an `Idempotency-Key`.',
    }),
    shouldRetry: functionOption<ShouldRetry>({
      type: '(outcome: Outcome, ctx: CallContext, byDefault: boolean) => boolean',
      doc: 'Decide whether an outcome is worth retrying. Receives the default decision, so it can extend (`byDefault || ...`) or replace the rule. Method and budget rules still apply.',
      defaultText: 'the default decision',
    }),
    budget: section(retryBudgetSchema, true),
    random: functionOption<() => number>({
      type: '() => number',
      doc: 'Source of randomness for jitter, in [0, 1); pass a seeded one for repeatable runs.',
      defaultText: '`Math.random`',
    }),
  },
  [
    (r) =>
      r.maxDelayMs < r.baseDelayMs
        ? ['maxDelayMs', `must be ≥ retry.baseDelayMs (${r.baseDelayMs}), got ${r.maxDelayMs}`]
        : undefined,
  ],
);

export const circuitBreakerSchema = optionsObject(
  'CircuitBreakerOptions',
  'Options of the per-origin circuit breaker (opossum).',
  {
    failureRatio: numberOption({
      default: 0.1,
      above: 0,
      max: 1,
      doc: 'Failure ratio, in (0, 1], of transient failures that opens the breaker.',
    }),
    minimumThroughput: numberOption({
      default: 100,
      min: 1,
      integer: true,
      doc: 'Attempts in the sampling window before the ratio is considered.',
    }),
    samplingDurationMs: numberOption({
      default: 30 * 1000, // 30 s
      min: 100,
      max: MAX_TIMEOUT_MS,
      doc: 'Sampling window, in ms. Must be ≥ 2 × attemptTimeoutMs.',
    }),
    breakDurationMs: numberOption({
      default: 5 * 1000, // 5 s
      min: 1,
      max: MAX_TIMEOUT_MS,
      doc: 'How long the breaker stays open before a half-open probe, in ms.',
    }),
    maxOrigins: numberOption({
      default: 1000, // breakers kept at once; idle closed ones are dropped anyway
      min: 1,
      max: 1_000_000,
      integer: true,
      doc: 'Most origins with a breaker at once. A closed breaker unused for a sampling window is dropped anyway; past this many, the least recently used one goes.',
    }),
  },
);

export const concurrencySchema = optionsObject(
  'ConcurrencyOptions',
  'Options of the concurrency limiter.',
  {
    limit: numberOption({
      default: 1000,
      min: 1,
      integer: true,
      doc: 'Calls in flight at once, client-wide. Not used with `adaptive`, whose limits are per origin.',
    }),
    queue: numberOption({
      default: 0, // reject at once when full: rejections are never retried
      min: 0,
      integer: true,
      doc: 'Calls that may wait for a slot; `0` rejects at once when full. With `adaptive`, per origin.',
    }),
    adaptive: section(adaptiveConcurrencySchema, false),
  },
);

export const transportSchema = optionsObject(
  'TransportOptions',
  'Options of the undici transport.',
  {
    connectionsPerOrigin: numberOption({
      default: 128,
      min: 1,
      integer: true,
      doc: 'Keep-alive connections per origin.',
    }),
    keepAliveTimeoutMs: timeout(
      4 * 1000, // 4 s, below common server keep-alive timeouts (5 s)
      'Idle keep-alive socket lifetime, in ms.',
    ),
    connectTimeoutMs: timeout(10 * 1000, 'TCP/TLS connect timeout, in ms.'), // 10 s
    // `dispatch()` is what the transport calls; `destroy()` is how close() ends its sockets.
    dispatcher: objectWithMethods<Dispatcher>(['dispatch', 'destroy'], {
      type: 'Dispatcher',
      what: 'an undici Dispatcher',
      doc: 'Use this undici Dispatcher instead of creating one (the client will not close it).',
      defaultText: 'a new undici Agent, closed with the client',
    }),
  },
);

const CHAOS_RATE = (doc: string) => numberOption({ default: 0, min: 0, max: 1, doc });

/** The fault rates one draw picks among: their sum is at most 1. */
const CHAOS_RATES = [
  'serviceUnavailableRate',
  'rateLimitRate',
  'unauthorizedRate',
  'resetRate',
] as const;

/** The chaos options (their interface, `ChaosOptions`, is generated into strategies/chaos/options.ts). */
export const chaosSchema = optionsObject(
  'ChaosOptions',
  "Fault injection (Simmy-style), opt-in: without `chaos` in the client options the layer is not in the pipeline at all. It sits just above the wire, inside the attempt timeout, so an injected fault meets retry, breaker, re-authorization and timeouts exactly like a real one. Three triggers, checked in this order for every wire attempt: the request header (`x-steadfast-chaos: 503`, stripped before sending); the async context (`withInjectedFault('503', () => client.fetch(...))`); the rates below, one seeded draw per attempt. Every injection emits `events.faultInjected`; injected responses carry `x-steadfast-chaos: injected` and injected errors have `injected: true` (the caller sees a `NetworkError` with it as `cause`), so nobody mistakes them for real faults.",
  {
    serviceUnavailableRate: CHAOS_RATE('Share of attempts answered `503` without being sent.'),
    rateLimitRate: CHAOS_RATE(
      'Share of attempts answered `429` with `Retry-After: retryAfterSeconds`, without being sent.',
    ),
    retryAfterSeconds: numberOption({
      default: 1,
      min: 0,
      max: 3600,
      integer: true,
      doc: '`Retry-After` of an injected 429, in seconds.',
    }),
    unauthorizedRate: CHAOS_RATE(
      'Share of attempts answered `401 invalid_token` (rehearses re-authorization).',
    ),
    resetRate: CHAOS_RATE('Share of attempts failed with an `ECONNRESET` network error, not sent.'),
    latencyRate: CHAOS_RATE(
      'Share of attempts delayed by `latencyMs` before being sent for real. Drawn apart from the other faults (an attempt can be delayed and then answered 503). The other four rates add up to at most 1.',
    ),
    latencyMs: numberOption({
      default: 1000, // 1 s
      min: 0,
      max: MAX_TIMEOUT_MS,
      doc: 'Injected latency, in ms.',
    }),
    header: customOption<string | false, string>(
      (value) =>
        value === false ||
        (typeof value === 'string' && /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/.test(value))
          ? undefined
          : 'must be an HTTP header name or false',
      {
        default: 'x-steadfast-chaos',
        type: 'string | false',
        doc: 'Request header that asks for a fault, or `false` to ignore headers. Values: `503`, `429`, `401`, `reset`, `latency` (or `latency=250` for 250 ms), optionally `*N` to inject on the first N attempts only (`503*1`: the first attempt fails, the retry goes through). Without `*N` every attempt of the call gets the fault.',
      },
    ),
    seed: numberOption({
      min: 0,
      max: 2 ** 32 - 1,
      integer: true,
      doc: 'Seed of the draws, for repeatable runs.',
      defaultText: 'a random seed',
    }),
    random: functionOption<() => number>({
      type: '() => number',
      doc: 'Source of randomness in [0, 1); overrides `seed`.',
      defaultText: 'a PRNG seeded with `seed`',
    }),
  },
  [
    (c) => {
      const sum = CHAOS_RATES.reduce((total, key) => total + c[key], 0);
      return sum > 1 + 1e-9
        ? [
            '',
            `${CHAOS_RATES.join(' + ')} must be ≤ 1 (one draw picks at most one fault), got ${sum}`,
          ]
        : undefined;
    },
  ],
);

/** `hooks.<name>`: one function, or a list of them run in order. */
const hookList = (type: string, doc: string) =>
  customOption<unknown>(
    (value): Problem => {
      if (typeof value === 'function') return undefined;
      if (!Array.isArray(value))
        return `must be a function or an array of functions, got ${describe(value)}`;
      const bad = value.findIndex((hook) => typeof hook !== 'function');
      return bad === -1 ? undefined : [bad, `must be a function, got ${describe(value[bad])}`];
    },
    { type: `${type} | readonly ${type}[]`, doc, defaultText: 'none' },
  );

export const hooksSchema = optionsObject(
  'ClientHooks',
  'Hooks: your code at fixed points of every call. Each takes one function or an array run in order; each may be async (a synchronous one costs no promise turn). A hook that throws ends the call with `HookError` (the thrown value as `cause`; its message never quotes it). Changes appear on the call span as `steadfast.hook.*` events.',
  {
    beforeRequest: hookList(
      'BeforeRequestHook',
      '`(ctx) => void`: before every wire attempt, re-sends and 401 re-sends included, after the token was attached. Set or delete headers on `ctx.headers` (lower-case names): a request id, a signature.',
    ),
    afterResponse: hookList(
      'AfterResponseHook',
      '`(ctx, response) => Response | retryableFailure() | void`: after every wire attempt that got a response, before re-authorization and retry decide on it. Return a `Response` to replace it, `retryableFailure()` to make it a transient failure (`ResponseRejectedError`), nothing to keep it. Reading its body here leaves it readable for the caller.',
    ),
    beforeRetry: hookList(
      'BeforeRetryHook',
      '`(ctx, { attempt, delayMs, delaySource, reason, status, error }) => boolean | void`: when the retry strategy is about to re-send. Return `false` to cancel: the call ends with its last outcome, stop reason `hook_cancelled`.',
    ),
    beforeError: hookList(
      'BeforeErrorHook',
      '`(error) => Error | void`: before a call rejects; return an error to reject with it instead.',
    ),
  },
);

/** HTTP header names (RFC 9110 tokens) and the values undici sends (no CR, LF or NUL). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers the transport writes itself: a default for them would break the request. */
const TRANSPORT_HEADERS = new Set([
  'connection',
  'content-length',
  'expect',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
]);

/** What is wrong with a `headers` option; values are never quoted (they may be secrets). */
export function headersProblem(value: unknown): Problem {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return `must be an object of header names to strings, got ${describe(value)}`;
  const seen = new Set<string>();
  for (const [name, text] of Object.entries(value)) {
    if (!HEADER_NAME.test(name)) return 'has a name that is not an HTTP header name';
    const lower = name.toLowerCase();
    if (seen.has(lower)) return `names "${lower}" twice (header names are case-insensitive)`;
    seen.add(lower);
    if (TRANSPORT_HEADERS.has(lower)) return `may not set "${lower}" (the transport sets it)`;
    if (lower === 'idempotency-key')
      return 'may not set "idempotency-key": a key is one call\'s (the call option `idempotencyKey`)';
    if (typeof text !== 'string')
      return `must map "${lower}" to a string, got ${describeType(text)}`;
    if (!HEADER_VALUE.test(text))
      return `has a value for "${lower}" that is not a valid header value (control characters such as CR, LF or NUL)`;
  }
  return undefined;
}

/** An absolute http(s) URL's origin, or what is wrong with it (never quoting the URL's secrets). */
export function originProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Quoted without userinfo, query or fragment: a URL given by mistake may carry secrets.
    return `must be an absolute http(s) URL, got "${safeUrl(value)}"`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `must use http: or https:, got ${url.protocol}`;
  }
  return undefined;
}

const originList = (doc: string, defaultText: string) =>
  listOption(listItem(originProblem), {
    type: 'readonly string[]',
    what: 'an array of URLs',
    doc,
    defaultText,
  });

/**
 * `maxResponseBytes`, here and per call: a whole number of bytes, at most what one string
 * can hold (a body read by `text()` must fit in one).
 */
export const MAX_RESPONSE_BYTES_RULE = { min: 0, max: constants.MAX_STRING_LENGTH, integer: true };

export const clientSchema = optionsObject(
  'ClientOptions',
  'Options of `createClient`. Validated once, at construction.',
  {
    name: requiredText({
      pattern: /^[A-Za-z0-9_.-]{1,64}$/,
      rule: '1–64 characters of letters, digits, "_", "." or "-" (it is a metric label)',
      doc: 'Low-cardinality client name: span names and the `client` metric label. Required.',
    }),
    baseUrl: customOption<string>(
      (value) => {
        if (typeof value !== 'string') return `must be a string, got ${describe(value)}`;
        const problem = originProblem(value);
        if (problem) return problem;
        const url = new URL(value);
        return url.username || url.password
          ? 'must not contain credentials; use `auth`'
          : undefined;
      },
      {
        type: 'string',
        doc: 'Base URL relative paths resolve against, e.g. `http://weather:8080/api/`.',
        defaultText: 'none (every call gives an absolute URL)',
      },
    ),
    auth: objectWithMethods<Authorization>(['createStrategy'], {
      type: 'Authorization',
      what: 'an authorization such as clientCredentials(...)',
      doc: 'OAuth2 authorization (e.g. `clientCredentials(...)`).',
      defaultText: 'none',
    }),
    concurrency: nested(concurrencySchema),
    totalTimeoutMs: timeout(
      30 * 1000, // 30 s for the whole call, backoff included
      'Deadline for the whole call, backoff included, in ms.',
    ),
    attemptTimeoutMs: timeout(
      10 * 1000, // 10 s per wire attempt
      'Bound on one wire attempt, in ms. Must be ≤ totalTimeoutMs; when it is not given and totalTimeoutMs is shorter than its default, it is totalTimeoutMs.',
    ),
    maxResponseBytes: numberOption({
      ...MAX_RESPONSE_BYTES_RULE,
      default: 32 * 1024 * 1024, // 32 MiB read whole by text()/json()/...; streams are unlimited
      doc: 'Largest response body read whole — `text()`, `json()`, `arrayBuffer()`, `bytes()`, `blob()` and the JSON helpers — in bytes; a larger one rejects with `ResponseTooLargeError` and its connection is closed. Streaming reads are not limited. Overridable per call.',
    }),
    bodyTimeoutMs: timeout(
      30 * 1000, // 30 s without a body chunk while a reader waits
      'While a response body is being read, the longest the server may send nothing, in ms; then the read rejects with a `TimeoutError` of kind `body` and the connection is closed.',
    ),
    authOrigins: originList(
      "Origins besides `baseUrl`'s that may receive the access token of `auth`. The token is attached only to requests for these origins; a request to any other origin is sent without it (the call span says so).",
      "`baseUrl`'s origin only",
    ),
    retry: section(retrySchema, true),
    circuitBreaker: section(circuitBreakerSchema, true),
    transport: nested(transportSchema),
    // Checked in full by the telemetry module (resolveTelemetry), under `telemetry.`.
    telemetry: plainObject<Record<string, unknown>>({
      type: 'TelemetryOptions',
      doc: 'Metrics and tracing.',
      defaultText: "both on (metrics on the SDK's default registry)",
    }),
    origins: originList(
      'Extra origins this client calls besides `baseUrl` (bounded `server_address` label values).',
      "`baseUrl`'s origin only",
    ),
    chaos: section(chaosSchema, false),
    headers: customOption<Readonly<Record<string, string>>>(headersProblem, {
      type: 'Readonly<Record<string, string>>',
      doc: "Headers sent with every call (e.g. `{ 'user-agent': 'billing/1.4' }`). A call's own headers win, whatever the case of their names. Checked here (names, values); never logged.",
      defaultText: 'none',
    }),
    hooks: nested(hooksSchema),
    rateLimit: section(rateLimitSchema, false),
    quota: section(quotaSchema, false),
    cooldown: optInSection(cooldownSchema),
    adaptiveThrottle: section(adaptiveThrottleSchema, false),
    fallback: section(fallbackSchema, false),
    hedging: section(hedgingSchema, false),
  },
  [
    (o) =>
      o.attemptTimeoutMs > o.totalTimeoutMs
        ? [
            'attemptTimeoutMs',
            `must be ≤ totalTimeoutMs (${o.totalTimeoutMs}), got ${o.attemptTimeoutMs}`,
          ]
        : undefined,
    (o) =>
      o.circuitBreaker && o.circuitBreaker.samplingDurationMs < 2 * o.attemptTimeoutMs
        ? [
            'circuitBreaker.samplingDurationMs',
            `must be ≥ 2 × attemptTimeoutMs (${2 * o.attemptTimeoutMs}), got ${o.circuitBreaker.samplingDurationMs}`,
          ]
        : undefined,
    (o) =>
      o.auth !== undefined && o.baseUrl === undefined && !o.authOrigins?.length
        ? [
            'authOrigins',
            'the access token of `auth` is sent only to the origin of `baseUrl` and to `authOrigins`: set one of them',
          ]
        : undefined,
  ],
);

/** Options of `client.close()`. */
export const closeSchema = optionsObject('CloseOptions', 'Options of `client.close()`.', {
  graceMs: numberOption({
    default: 0,
    min: 0,
    max: MAX_TIMEOUT_MS,
    doc: 'Let calls in flight finish for up to this long before they are ended with `ClientClosedError`. New calls are refused at once either way.',
  }),
});

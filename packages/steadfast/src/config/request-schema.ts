import { tokenSchema } from '../auth/options-schema.js';
import { retrySchema } from './client-schema.js';
import {
  customOption,
  describe,
  describeType,
  functionOption,
  MAX_TIMEOUT_MS,
  numberOption,
  optionalSection,
  optionsObject,
  plainObject,
  withoutDefault,
} from './schema.js';

/**
 * Steadfast's own options of one call, declared once like the client's: `CallOptions` and
 * `CallRetryOptions` (config/request-options.ts) are generated from this file by
 * `npm run generate:options`. Every one of them falls back to the client's setting, so none
 * has a default of its own; config/call-options.ts validates and resolves them per call.
 */

/** What `searchParams` takes: a record (`undefined` values skipped), `URLSearchParams` or a query string. */
export type SearchParamsInput =
  | Readonly<Record<string, string | number | boolean | undefined>>
  | URLSearchParams
  | string;

const {
  maxRetries,
  backoff,
  jitter,
  baseDelayMs,
  maxDelayMs,
  maxRetryAfterMs,
  retryUnsafeMethods,
  shouldRetry,
} = retrySchema.entries;
const clients = (name: string) => `the client's \`retry.${name}\``;

/** A call's `retry`: the client's retry options it changes. The budget stays the client's. */
export const callRetrySchema = optionsObject(
  'CallRetryOptions',
  "The retry options one call changes; the others keep the client's values (the defaults of `RetryOptions` on a client created with `retry: false`). The retry budget is the client's and is not set per call.",
  {
    maxRetries: withoutDefault(maxRetries, clients('maxRetries')),
    backoff: withoutDefault(backoff, clients('backoff')),
    jitter: withoutDefault(jitter, clients('jitter')),
    baseDelayMs: withoutDefault(baseDelayMs, clients('baseDelayMs')),
    maxDelayMs: withoutDefault(maxDelayMs, clients('maxDelayMs')),
    maxRetryAfterMs: withoutDefault(maxRetryAfterMs, clients('maxRetryAfterMs')),
    retryUnsafeMethods: withoutDefault(retryUnsafeMethods, clients('retryUnsafeMethods')),
    shouldRetry: withoutDefault(shouldRetry, clients('shouldRetry')),
  },
);

/** Stripe's limit on an idempotency key; visible ASCII, so it is a valid header value. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function searchParamsProblem(value: unknown): string | undefined {
  if (typeof value === 'string' || value instanceof URLSearchParams) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return `must be a record, URLSearchParams or a string, got ${describe(value)}`;
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || typeof item === 'string' || typeof item === 'boolean') continue;
    if (typeof item === 'number' && Number.isFinite(item)) continue;
    // The key is the caller's parameter name; the value is never quoted (it may be a secret).
    return `\`${key}\` must be a string, a finite number, a boolean or undefined, got ${typeof item === 'number' ? 'a non-finite number' : describeType(item)}`;
  }
  return undefined;
}

export const callSchema = optionsObject(
  'CallOptions',
  "Steadfast's own options of one call (`fetch`, `request`, the JSON helpers), beside fetch's. Checked before anything is sent: a wrong one rejects the call with `InvalidRequestError` naming it in `field`.",
  {
    timeoutMs: numberOption({
      above: 0,
      max: MAX_TIMEOUT_MS,
      doc: "Deadline of this call, backoff included, in ms. The sooner of it and the client's `totalTimeoutMs` applies; expiry is a `TimeoutError` of kind `total` whose message names the setting that fired.",
      defaultText: "the client's `totalTimeoutMs`",
    }),
    attemptTimeoutMs: numberOption({
      above: 0,
      max: MAX_TIMEOUT_MS,
      doc: 'Bound on each wire attempt of this call, in ms; at most `timeoutMs` when both are given. Expiry is a `TimeoutError` of kind `attempt` (retried like any attempt timeout).',
      defaultText: "the client's `attemptTimeoutMs`",
    }),
    retry: optionalSection(callRetrySchema, "the client's `retry`"),
    idempotencyKey: customOption<true | string>(
      (value) =>
        value === true || (typeof value === 'string' && IDEMPOTENCY_KEY.test(value))
          ? undefined
          : `must be true or 1–255 visible ASCII characters, got ${describe(value)}`,
      {
        type: 'true | string',
        doc: 'Send this `Idempotency-Key` header on every attempt of the call; `true` generates one (a UUID) for the call. A POST or PATCH with a key is re-sent on ambiguous failures like an idempotent method.',
        defaultText: 'none',
      },
    ),
    json: customOption<unknown>(() => undefined, {
      type: 'unknown',
      doc: 'A body serialized with `JSON.stringify` once, sent on every attempt, with `content-type: application/json` unless the headers give one. Any method; not together with `body`.',
      defaultText: 'none',
    }),
    searchParams: customOption<SearchParamsInput>(searchParamsProblem, {
      type: 'SearchParamsInput',
      doc: "Query parameters appended to the URL's own query: a record (`undefined` values left out), `URLSearchParams` or a string.",
      defaultText: 'none',
    }),
    token: optionalSection(
      tokenSchema,
      "the derived client's `token`, else the credential's own token; `false`: the credential's own",
    ),
    context: plainObject<Readonly<Record<string, unknown>>>({
      type: 'Readonly<Record<string, unknown>>',
      doc: 'Values of the caller for this call: hooks, event listeners and the chaos strategy read them as `ctx.context`. Never sent.',
      defaultText: 'an empty object',
    }),
  },
  [
    (o) =>
      o.timeoutMs !== undefined &&
      o.attemptTimeoutMs !== undefined &&
      o.attemptTimeoutMs > o.timeoutMs
        ? ['attemptTimeoutMs', `must be ≤ timeoutMs (${o.timeoutMs}), got ${o.attemptTimeoutMs}`]
        : undefined,
  ],
);

/**
 * The JSON helpers' own option (`getJson`, `postJson`): `parse`, checked like the others.
 * `JsonRequestOptions<T>` in client.ts declares it with its type parameter, which the
 * generated interfaces cannot carry.
 */
export const jsonCallSchema = optionsObject(
  'JsonCallOptions',
  "The JSON helpers' own option, beside the call's.",
  {
    parse: functionOption<(value: unknown) => unknown>({
      type: '(value: unknown) => T',
      doc: "Validates and types the parsed body (e.g. a zod or valibot schema's `parse`); the helper resolves with what it returns. A body it throws on rejects with `ResponseValidationError`, not retried.",
      defaultText: 'none: the body is returned as parsed',
    }),
  },
);

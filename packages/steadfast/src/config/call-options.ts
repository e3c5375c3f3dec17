import { randomUUID } from 'node:crypto';
import { normalizeTokenSelector } from '../auth/options-schema.js';
import { InvalidConfigurationError, InvalidRequestError } from '../errors.js';
import type { CallOverrides, TokenSelector } from '../pipeline/types.js';
import { retrySchema } from './client-schema.js';
import type { CallOptions } from './request-options.js';
import { callSchema, type SearchParamsInput } from './request-schema.js';
import type { ResolvedOptions } from './resolved.js';
import { defaultsOf, parseOptions, type Resolved } from './schema.js';

type RetrySettings = Exclude<ResolvedOptions['retry'], false>;
type CallRetry = Exclude<NonNullable<Resolved<typeof callSchema>['retry']>, false>;

/** A call's own options, checked and resolved: what the client builds the call from. */
export interface ResolvedCallOptions {
  /** `undefined` unless the call changes a timeout or the retries. */
  readonly overrides: CallOverrides | undefined;
  readonly context: Readonly<Record<string, unknown>> | undefined;
  /** The `json` body, serialized once. */
  readonly json: string | undefined;
  /** `searchParams` as a query string without `?`; `undefined` when there is none. */
  readonly query: string | undefined;
  /** The key to send, generated when the call asked for one with `true`. */
  readonly idempotencyKey: string | undefined;
  /** The token the call needs; `false`: the credential's own; `undefined`: the client's default. */
  readonly token: TokenSelector | false | undefined;
}

/**
 * True when `init` carries one of Steadfast's own per-call options. The client asks this
 * first, so a call that passes none of them pays eight property reads and no validation.
 */
export function hasCallOptions(init: CallOptions): boolean {
  return (
    init.timeoutMs !== undefined ||
    init.attemptTimeoutMs !== undefined ||
    init.retry !== undefined ||
    init.idempotencyKey !== undefined ||
    init.json !== undefined ||
    init.searchParams !== undefined ||
    init.context !== undefined ||
    init.token !== undefined
  );
}

/**
 * The defaults a call's `retry` is merged over on a client created with `retry: false`:
 * those of `RetryOptions`, without a budget (the client has none).
 */
const RETRY_DEFAULTS: RetrySettings = {
  ...defaultsOf(retrySchema),
  shouldRetry: undefined,
  budget: false,
  random: Math.random,
};

/**
 * Checks and resolves the own options of one client's calls (config/request-schema.ts). A
 * call's `retry` object is merged over the client's settings once and remembered: like every
 * option it is read-only, so a constant such as `{ maxRetries: 0 }` shared by many calls is
 * validated and merged on its first call only. A `token` object is remembered the same way.
 */
export class CallOptionsResolver {
  readonly #clientRetry: RetrySettings;
  readonly #merged = new WeakMap<object, RetrySettings>();
  readonly #tokens = new WeakMap<object, TokenSelector>();

  constructor(clientRetry: ResolvedOptions['retry']) {
    this.#clientRetry = clientRetry || RETRY_DEFAULTS;
  }

  /** Throws `InvalidRequestError` naming the option (`field`) when one is wrong. */
  resolve(init: CallOptions): ResolvedCallOptions {
    const retryInput = init.retry;
    const known = retryInput ? this.#merged.get(retryInput) : undefined;
    const tokenInput = init.token;
    const knownToken = tokenInput ? this.#tokens.get(tokenInput) : undefined;
    let given: Resolved<typeof callSchema>;
    try {
      given = parseOptions(
        callSchema,
        ownOptions(init, known === undefined, knownToken === undefined),
      );
    } catch (error) {
      throw asRequestError(error);
    }
    let retry: RetrySettings | false | undefined =
      known ?? (given.retry === false ? false : undefined);
    if (given.retry) {
      retry = this.#merge(given.retry);
      this.#merged.set(retryInput as object, retry);
    }
    let token: TokenSelector | false | undefined =
      knownToken ?? (given.token === false ? false : undefined);
    if (given.token) {
      token = normalizeTokenSelector(given.token);
      this.#tokens.set(tokenInput as object, token);
    }
    const { timeoutMs, attemptTimeoutMs } = given;
    return {
      overrides:
        timeoutMs === undefined && attemptTimeoutMs === undefined && retry === undefined
          ? undefined
          : { timeoutMs, attemptTimeoutMs, retry },
      context: given.context,
      json: given.json === undefined ? undefined : serialize(given.json),
      query: given.searchParams === undefined ? undefined : queryOf(given.searchParams),
      idempotencyKey: given.idempotencyKey === true ? randomUUID() : given.idempotencyKey,
      token,
    };
  }

  #merge(own: CallRetry): RetrySettings {
    const merged: Record<string, unknown> = { ...this.#clientRetry };
    for (const [key, value] of Object.entries(own)) if (value !== undefined) merged[key] = value;
    const settings = merged as unknown as RetrySettings;
    if (settings.maxDelayMs < settings.baseDelayMs) {
      const field = own.maxDelayMs === undefined ? 'baseDelayMs' : 'maxDelayMs';
      throw new InvalidRequestError(
        `Invalid option \`retry.${field}\` of a call: retry.maxDelayMs (${settings.maxDelayMs}) must be ≥ retry.baseDelayMs (${settings.baseDelayMs})`,
        { field: `retry.${field}` },
      );
    }
    return settings;
  }
}

/** The per-call options of `init`, without fetch's (the schema knows only its own keys). */
function ownOptions(
  init: CallOptions,
  withRetry: boolean,
  withToken: boolean,
): Record<string, unknown> {
  const own: Record<string, unknown> = {};
  if (init.timeoutMs !== undefined) own.timeoutMs = init.timeoutMs;
  if (init.attemptTimeoutMs !== undefined) own.attemptTimeoutMs = init.attemptTimeoutMs;
  if (init.retry !== undefined && withRetry) own.retry = init.retry;
  if (init.idempotencyKey !== undefined) own.idempotencyKey = init.idempotencyKey;
  if (init.json !== undefined) own.json = init.json;
  if (init.searchParams !== undefined) own.searchParams = init.searchParams;
  if (init.context !== undefined) own.context = init.context;
  if (init.token !== undefined && withToken) own.token = init.token;
  return own;
}

function asRequestError(error: unknown): unknown {
  if (!(error instanceof InvalidConfigurationError)) return error;
  const prefix = `Invalid option \`${error.field}\`: `;
  const rule = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : 'is invalid';
  return new InvalidRequestError(`Invalid option \`${error.field}\` of a call: ${rule}`, {
    field: error.field,
  });
}

function serialize(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidRequestError(
      'Invalid option `json` of a call: cannot be serialized to JSON (see the cause)',
      { cause: error, field: 'json' },
    );
  }
  if (text === undefined) {
    throw new InvalidRequestError(
      `Invalid option \`json\` of a call: JSON cannot represent a ${typeof value}`,
      { field: 'json' },
    );
  }
  return text;
}

function queryOf(params: SearchParamsInput): string | undefined {
  let query: string;
  if (typeof params === 'string') query = new URLSearchParams(params).toString();
  else if (params instanceof URLSearchParams) query = params.toString();
  else {
    const built = new URLSearchParams();
    for (const [key, value] of Object.entries(params))
      if (value !== undefined) built.append(key, String(value));
    query = built.toString();
  }
  return query === '' ? undefined : query;
}

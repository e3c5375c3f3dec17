// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (request-options.ts)

import type { CallContext, Outcome } from '../pipeline/types.js';
import type { SearchParamsInput } from './request-schema.js';
import type { BackoffKind } from './resolved.js';

/**
 * The retry options one call changes; the others keep the client's values (the defaults of
 * `RetryOptions` on a client created with `retry: false`). The retry budget is the client's and is
 * not set per call.
 */
export interface CallRetryOptions {
  /**
   * Re-sends after the first attempt, in [0, 100]. `0` disables retries.
   *
   * @defaultValue the client's `retry.maxRetries`
   */
  readonly maxRetries?: number;
  /**
   * Shape of the delays between attempts.
   *
   * @defaultValue the client's `retry.backoff`
   */
  readonly backoff?: BackoffKind;
  /**
   * Decorrelated jitter on the backoff delay.
   *
   * @defaultValue the client's `retry.jitter`
   */
  readonly jitter?: boolean;
  /**
   * Delay before the first retry, in ms.
   *
   * @defaultValue the client's `retry.baseDelayMs`
   */
  readonly baseDelayMs?: number;
  /**
   * Upper bound of a backoff delay, in ms; at least `baseDelayMs`.
   *
   * @defaultValue the client's `retry.maxDelayMs`
   */
  readonly maxDelayMs?: number;
  /**
   * Longest `Retry-After` the retry strategy waits for, in ms. A longer one (or one past the
   * deadline) ends the call at once with the server's response: it never re-sends before the
   * server's `Retry-After`.
   *
   * @defaultValue the client's `retry.maxRetryAfterMs`
   */
  readonly maxRetryAfterMs?: number;
  /**
   * Retry POST/PATCH on ambiguous failures too; otherwise only with an `Idempotency-Key`.
   *
   * @defaultValue the client's `retry.retryUnsafeMethods`
   */
  readonly retryUnsafeMethods?: boolean;
  /**
   * Decide whether an outcome is worth retrying. Receives the default decision, so it can extend
   * (`byDefault || ...`) or replace the rule. Method and budget rules still apply.
   *
   * @defaultValue the client's `retry.shouldRetry`
   */
  readonly shouldRetry?: (outcome: Outcome, ctx: CallContext, byDefault: boolean) => boolean;
}

/**
 * A token of the client's credential other than its configured one: the scopes, resource (RFC
 * 8707) or audience this call needs. Each distinct combination is a token of its own, cached and
 * shared through the store under its own key; a 401 for one never evicts another. Fields left out
 * keep the credential's.
 */
export interface TokenOptions {
  /**
   * Scopes, as a space-separated string or a list; they replace the credential's `scope`.
   *
   * @defaultValue the credential's `scope`
   */
  readonly scope?: string | readonly string[];
  /**
   * `resource` indicator (RFC 8707) of the token.
   *
   * @defaultValue the credential's `resource`
   */
  readonly resource?: string;
  /**
   * `audience` form parameter of the token (Auth0, Okta style).
   *
   * @defaultValue the credential's `audience`
   */
  readonly audience?: string;
}

/**
 * Steadfast's own options of one call (`fetch`, `request`, the JSON helpers), beside fetch's.
 * Checked before anything is sent: a wrong one rejects the call with `InvalidRequestError` naming
 * it in `field`.
 */
export interface CallOptions {
  /**
   * Deadline of this call, backoff included, in ms. The sooner of it and the client's
   * `totalTimeoutMs` applies; expiry is a `TimeoutError` of kind `total` whose message names the
   * setting that fired.
   *
   * @defaultValue the client's `totalTimeoutMs`
   */
  readonly timeoutMs?: number;
  /**
   * Bound on each wire attempt of this call, in ms; at most `timeoutMs` when both are given.
   * Expiry is a `TimeoutError` of kind `attempt` (retried like any attempt timeout).
   *
   * @defaultValue the client's `attemptTimeoutMs`
   */
  readonly attemptTimeoutMs?: number;
  /**
   * The retry options one call changes; the others keep the client's values (the defaults of
   * `RetryOptions` on a client created with `retry: false`). The retry budget is the client's and
   * is not set per call. `false` turns it off.
   *
   * @defaultValue the client's `retry`
   */
  readonly retry?: CallRetryOptions | false;
  /**
   * Send this `Idempotency-Key` header on every attempt of the call; `true` generates one (a UUID)
   * for the call. A POST or PATCH with a key is re-sent on ambiguous failures like an idempotent
   * method.
   *
   * @defaultValue none
   */
  readonly idempotencyKey?: true | string;
  /**
   * A body serialized with `JSON.stringify` once, sent on every attempt, with `content-type:
   * application/json` unless the headers give one. Any method; not together with `body`.
   *
   * @defaultValue none
   */
  readonly json?: unknown;
  /**
   * Query parameters appended to the URL's own query: a record (`undefined` values left out),
   * `URLSearchParams` or a string.
   *
   * @defaultValue none
   */
  readonly searchParams?: SearchParamsInput;
  /**
   * A token of the client's credential other than its configured one: the scopes, resource (RFC
   * 8707) or audience this call needs. Each distinct combination is a token of its own, cached and
   * shared through the store under its own key; a 401 for one never evicts another. Fields left
   * out keep the credential's. `false` turns it off.
   *
   * @defaultValue the derived client's `token`, else the credential's own token; `false`: the credential's own
   */
  readonly token?: TokenOptions | false;
  /**
   * Values of the caller for this call: hooks, event listeners and the chaos strategy read them as
   * `ctx.context`. Never sent.
   *
   * @defaultValue an empty object
   */
  readonly context?: Readonly<Record<string, unknown>>;
}

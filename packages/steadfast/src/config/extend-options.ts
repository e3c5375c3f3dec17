// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (extend-options.ts)

import type { ClientHooks } from './options.js';
import type { CallRetryOptions, TokenOptions } from './request-options.js';

/**
 * The defaults a derived client (`client.extend(options)`) changes for its calls. It shares its
 * parent's pipeline — pools, breakers, concurrency limit, token and its origins, telemetry and
 * `client` label — so only these may differ; every other option is the parent's.
 */
export interface ExtendOptions {
  /**
   * Base URL relative paths resolve against, e.g. `http://weather:8080/api/`.
   *
   * @defaultValue the parent's `baseUrl`. The token still goes only to the parent's `baseUrl` origin and `authOrigins`
   */
  readonly baseUrl?: string;
  /**
   * Headers sent with every call (e.g. `{ 'user-agent': 'billing/1.4' }`). A call's own headers
   * win, whatever the case of their names. Checked here (names, values); never logged.
   *
   * @defaultValue the parent's `headers`, these merged over them
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Hooks: your code at fixed points of every call. Each takes one function or an array run in
   * order; each may be async (a synchronous one costs no promise turn). A hook that throws ends
   * the call with `HookError` (the thrown value as `cause`; its message never quotes it). Changes
   * appear on the call span as `steadfast.hook.*` events.
   *
   * @defaultValue on, with the defaults of {@link ClientHooks}
   */
  readonly hooks?: ClientHooks;
  /**
   * The retry options one call changes; the others keep the client's values (the defaults of
   * `RetryOptions` on a client created with `retry: false`). The retry budget is the client's and
   * is not set per call. `false` turns it off.
   *
   * @defaultValue the parent's `retry`
   */
  readonly retry?: CallRetryOptions | false;
  /**
   * Deadline for the whole call, backoff included, in ms.
   *
   * @defaultValue the parent's `totalTimeoutMs`
   */
  readonly totalTimeoutMs?: number;
  /**
   * Bound on one wire attempt, in ms. Must be ≤ totalTimeoutMs; when it is not given and
   * totalTimeoutMs is shorter than its default, it is totalTimeoutMs.
   *
   * @defaultValue the parent's `attemptTimeoutMs`, or this `totalTimeoutMs` when that is shorter
   */
  readonly attemptTimeoutMs?: number;
  /**
   * Largest response body read whole — `text()`, `json()`, `arrayBuffer()`, `bytes()`, `blob()`
   * and the JSON helpers — in bytes; a larger one rejects with `ResponseTooLargeError` and its
   * connection is closed. Streaming reads are not limited. Overridable per call.
   *
   * @defaultValue the parent's `maxResponseBytes`
   */
  readonly maxResponseBytes?: number;
  /**
   * A token of the client's credential other than its configured one: the scopes, resource (RFC
   * 8707) or audience this call needs. Each distinct combination is a token of its own, cached and
   * shared through the store under its own key; a 401 for one never evicts another. Fields left
   * out keep the credential's. `false` turns it off.
   *
   * @defaultValue the parent's `token` (the credential's own token for a client made by `createClient`); `false`: the credential's own
   */
  readonly token?: TokenOptions | false;
}

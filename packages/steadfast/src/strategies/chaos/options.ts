// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (options.ts)

/**
 * Fault injection (Simmy-style), opt-in: without `chaos` in the client options the layer is not in
 * the pipeline at all. It sits just above the wire, inside the attempt timeout, so an injected
 * fault meets retry, breaker, re-authorization and timeouts exactly like a real one. Three
 * triggers, checked in this order for every wire attempt: the request header (`x-steadfast-chaos:
 * 503`, stripped before sending); the async context (`withInjectedFault('503', () =>
 * client.fetch(...))`); the rates below, one seeded draw per attempt. Every injection emits
 * `events.faultInjected`; injected responses carry `x-steadfast-chaos: injected` and injected
 * errors have `injected: true` (the caller sees a `NetworkError` with it as `cause`), so nobody
 * mistakes them for real faults.
 */
export interface ChaosOptions {
  /**
   * Share of attempts answered `503` without being sent.
   *
   * @defaultValue `0`
   */
  readonly serviceUnavailableRate?: number;
  /**
   * Share of attempts answered `429` with `Retry-After: retryAfterSeconds`, without being sent.
   *
   * @defaultValue `0`
   */
  readonly rateLimitRate?: number;
  /**
   * `Retry-After` of an injected 429, in seconds.
   *
   * @defaultValue `1`
   */
  readonly retryAfterSeconds?: number;
  /**
   * Share of attempts answered `401 invalid_token` (rehearses re-authorization).
   *
   * @defaultValue `0`
   */
  readonly unauthorizedRate?: number;
  /**
   * Share of attempts failed with an `ECONNRESET` network error, not sent.
   *
   * @defaultValue `0`
   */
  readonly resetRate?: number;
  /**
   * Share of attempts delayed by `latencyMs` before being sent for real. Drawn apart from the
   * other faults (an attempt can be delayed and then answered 503). The other four rates add up to
   * at most 1.
   *
   * @defaultValue `0`
   */
  readonly latencyRate?: number;
  /**
   * Injected latency, in ms.
   *
   * @defaultValue `1_000` (1 s)
   */
  readonly latencyMs?: number;
  /**
   * Request header that asks for a fault, or `false` to ignore headers. Values: `503`, `429`,
   * `401`, `reset`, `latency` (or `latency=250` for 250 ms), optionally `*N` to inject on the
   * first N attempts only (`503*1`: the first attempt fails, the retry goes through). Without `*N`
   * every attempt of the call gets the fault.
   *
   * @defaultValue `'x-steadfast-chaos'`
   */
  readonly header?: string | false;
  /**
   * Seed of the draws, for repeatable runs.
   *
   * @defaultValue a random seed
   */
  readonly seed?: number;
  /**
   * Source of randomness in [0, 1); overrides `seed`.
   *
   * @defaultValue a PRNG seeded with `seed`
   */
  readonly random?: () => number;
}

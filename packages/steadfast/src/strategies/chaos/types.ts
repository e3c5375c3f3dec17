/** A fault the chaos strategy can inject into one wire attempt. */
export type ChaosFault = 'latency' | 'reset' | '503' | '429' | '401';

/**
 * Fault injection (Simmy-style), opt-in: without `chaos` in the client options the layer is
 * not in the pipeline at all. It sits just above the wire, inside the attempt timeout, so an
 * injected fault meets retry, breaker, re-authorization and timeouts exactly like a real one.
 *
 * Three triggers, checked in this order for every wire attempt:
 * 1. the request header (`x-steadfast-chaos: 503`, stripped before sending);
 * 2. the async context (`withInjectedFault('503', () => client.fetch(...))`);
 * 3. the rates below, one seeded draw per attempt.
 *
 * Every injection emits `events.faultInjected`; injected responses carry
 * `x-steadfast-chaos: injected` and injected errors have `injected: true` (the caller sees
 * a `NetworkError` with it as `cause`), so nobody mistakes them for real faults.
 *
 * @example
 * createClient({ name: 'weather', baseUrl, chaos: { serviceUnavailableRate: 0.05, seed: 42 } });
 */
export interface ChaosOptions {
  /** Share of attempts answered `503` without being sent. Default 0. */
  readonly serviceUnavailableRate?: number;
  /** Share of attempts answered `429` with `Retry-After: retryAfterSeconds`. Default 0. */
  readonly rateLimitRate?: number;
  /** `Retry-After` of an injected 429, in seconds. Default 1. */
  readonly retryAfterSeconds?: number;
  /** Share of attempts answered `401 invalid_token` (rehearses re-authorization). Default 0. */
  readonly unauthorizedRate?: number;
  /** Share of attempts failed with an `ECONNRESET` network error, not sent. Default 0. */
  readonly resetRate?: number;
  /**
   * Share of attempts delayed by `latencyMs` before being sent for real. Drawn apart from
   * the other faults (an attempt can be delayed and then answered 503). Default 0.
   */
  readonly latencyRate?: number;
  /** Injected latency. Default 1 000 ms. */
  readonly latencyMs?: number;
  /**
   * Request header that asks for a fault, or `false` to ignore headers. Values: `503`,
   * `429`, `401`, `reset`, `latency` (or `latency=250` for 250 ms), optionally `*N` to inject
   * on the first N attempts only (`503*1`: the first attempt fails, the retry goes through).
   * Without `*N` every attempt of the call gets the fault. Default `x-steadfast-chaos`.
   */
  readonly header?: string | false;
  /** Seed of the draws, for repeatable runs. Default: a random seed. */
  readonly seed?: number;
  /** Source of randomness in [0, 1); overrides `seed`. Default: a seeded PRNG. */
  readonly random?: () => number;
}

/** `ChaosOptions` after validation: everything present. */
export interface ResolvedChaosOptions {
  readonly serviceUnavailableRate: number;
  readonly rateLimitRate: number;
  readonly retryAfterSeconds: number;
  readonly unauthorizedRate: number;
  readonly resetRate: number;
  readonly latencyRate: number;
  readonly latencyMs: number;
  readonly header: string | false;
  readonly random: () => number;
}

/** A fault request: which fault, how long (latency), on how many attempts. */
export interface FaultRequest {
  readonly fault: ChaosFault;
  /** Latency in ms, for `latency`; default `latencyMs`. */
  readonly latencyMs?: number;
  /** Inject on the first `times` attempts of the call only. Default: every attempt. */
  readonly times?: number;
}

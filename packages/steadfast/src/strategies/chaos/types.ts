/** A fault the chaos strategy can inject into one wire attempt. */
export type ChaosFault = 'latency' | 'reset' | '503' | '429' | '401';

export type { ChaosOptions } from './options.js';

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

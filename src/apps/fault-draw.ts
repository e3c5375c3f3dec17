import { hashSeed, type RandomSource, seededRandom } from 'steadfast';
import type { FaultProfile } from './fault-profile.js';

/** The fault a request gets, if any. */
export type Fault = 'none' | 'error' | 'unauthorized' | 'rateLimited' | 'reset';

/**
 * Request header whose value keys the request's draws (fault, latency, error status, body):
 * `x-steadfast-request-key: <call id>`, the same on every attempt of the call.
 */
export const REQUEST_KEY_HEADER = 'x-steadfast-request-key';

/**
 * Request header that picks the fault profile of the request: an index into the API's
 * `phases`. Ignored unless the API was started with `phases`.
 */
export const PHASE_HEADER = 'x-steadfast-phase';

/** Longest request key accepted (longer ones are refused with 400). */
export const MAX_REQUEST_KEY_LENGTH = 128;

/** One draw picks at most one fault; the rates are shares of all requests. */
export function drawFault(profile: FaultProfile, random: RandomSource): Fault {
  let draw = random();
  const shares: [Fault, number][] = [
    ['reset', profile.resetRate],
    ['rateLimited', profile.rateLimitRate],
    ['unauthorized', profile.unauthorizedRate],
    ['error', profile.errorRate],
  ];
  for (const [fault, share] of shares) {
    if (draw < share) return fault;
    draw -= share;
  }
  return 'none';
}

/**
 * Random sources by request key: the n-th request (from 0) that carries key `k` draws from
 * `seededRandom(hashSeed(seed, k, n))`. So a call's first attempt and each of its retries get
 * their own draws, the same in every run with the same seed, whatever order requests arrive
 * in. Remembers at most `maxKeys` keys; beyond that the oldest key is forgotten (and would
 * start again at n = 0).
 */
export class KeyedDraws {
  readonly #seen = new Map<string, number>();

  constructor(
    private readonly seed: number,
    private readonly maxKeys = 1_000_000,
  ) {}

  /** The random source of the next request with `key`. */
  next(key: string): RandomSource {
    const n = this.#seen.get(key) ?? 0;
    if (n === 0 && this.#seen.size >= this.maxKeys) {
      const oldest = this.#seen.keys().next();
      if (!oldest.done) this.#seen.delete(oldest.value);
    }
    this.#seen.set(key, n + 1);
    return seededRandom(hashSeed(this.seed, key, n));
  }
}

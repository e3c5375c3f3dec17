import { TokenUnavailableError } from '../../errors.js';
import type { RandomSource } from '../../pipeline/seeded-random.js';
import type { TokenEndpointError } from '../errors.js';
import {
  type BackoffApplied,
  type BackoffPolicy,
  backoffDurationMs,
} from '../store/backoff-policy.js';
import type { Clock } from './clock.js';

const MAX_RETRY_AFTER_MS = 3600 * 1000; // never honour a Retry-After longer than 1 h

/** The backoff settings of one credential (validated by `clientCredentials`). */
export interface TokenBackoffOptions {
  readonly credential: string;
  /** First backoff after a retryable token-endpoint failure (ms). */
  readonly backoffMinMs: number;
  /** Cap of the retryable backoff (ms). */
  readonly backoffMaxMs: number;
  /** Backoff after a configuration error such as `invalid_client` (ms). */
  readonly configurationErrorBackoffMs: number;
}

/**
 * One instance's view of the token-endpoint backoff: until when no token request may be
 * sent, why, and the count of consecutive failures. The fleet's count lives in the store
 * (the lease holder's `TokenStore.backoff` returns it); this keeps the last one known, and
 * counts alone while the store is down.
 */
export class TokenBackoff {
  readonly #options: TokenBackoffOptions;
  readonly #clock: Clock;
  readonly #random: RandomSource;
  #until = 0;
  #reason = '';
  /** Consecutive failures: the fleet's count when the store gave it, else our own. */
  #failures = 0;

  constructor(options: TokenBackoffOptions, clock: Clock, random: RandomSource) {
    this.#options = options;
    this.#clock = clock;
    this.#random = random;
  }

  /** True while no token request may be sent. */
  get active(): boolean {
    return this.#clock.now() < this.#until;
  }

  /** How the backoff grows after `failure`: fixed for configuration errors, else doubling. */
  policyFor(failure: TokenEndpointError): BackoffPolicy {
    if (failure.kind === 'configuration') {
      const fixed = this.#options.configurationErrorBackoffMs;
      return { baseMs: fixed, maxMs: fixed, jitter: 1, atLeastMs: 0 };
    }
    return {
      baseMs: this.#options.backoffMinMs,
      maxMs: this.#options.backoffMaxMs,
      jitter: 0.5 + this.#random() / 2, // 50–100 % of the doubled delay
      atLeastMs: Math.min(failure.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS),
    };
  }

  /**
   * A token request failed: back off as the store said (`applied`), or, without it, for
   * our own next step of `policy`. Returns the caller's error.
   */
  failed(
    failure: TokenEndpointError,
    policy: BackoffPolicy,
    applied: BackoffApplied | undefined,
  ): TokenUnavailableError {
    this.#failures = applied?.failures ?? this.#failures + 1;
    const backoffMs = applied?.durationMs ?? backoffDurationMs(policy, this.#failures);
    this.#until = this.#clock.now() + backoffMs;
    this.#reason = failure.errorType;
    return new TokenUnavailableError(
      this.#options.credential,
      failure.errorType,
      `${failure.message}; no new token request for ${Math.ceil(backoffMs / 1000)} s`,
      { cause: failure },
    );
  }

  /** A token request succeeded: the next failure starts at the first step again. */
  succeeded(): void {
    this.#failures = 0;
  }

  /** Another instance's failure: wait as long as the fleet-wide backoff still runs. */
  fleetBackoff(remainingMs: number, reason: string | undefined): TokenUnavailableError {
    this.#until = this.#clock.now() + remainingMs;
    this.#reason = reason ?? 'backoff';
    return new TokenUnavailableError(
      this.#options.credential,
      this.#reason,
      `the token endpoint failed recently (fleet-wide backoff); retrying in ${Math.ceil(remainingMs / 1000)} s`,
    );
  }

  throwIfActive(): void {
    const left = this.#until - this.#clock.now();
    if (left > 0) {
      throw new TokenUnavailableError(
        this.#options.credential,
        this.#reason,
        `the token endpoint failed recently; backing off for another ${Math.ceil(left / 1000)} s`,
      );
    }
  }
}

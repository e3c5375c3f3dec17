import {
  AbortError,
  CircuitOpenError,
  ConcurrencyLimitedError,
  PoolExhaustedError,
  RateLimitedError,
  TimeoutError,
} from '../../errors.js';
import { isTransient, neverReachedServer } from '../../http/classify.js';
import type { Outcome } from '../../pipeline/types.js';

/**
 * How hedging judges the outcome of one attempt:
 * - `accept`: the call takes it and the other attempts are cancelled — anything not
 *   transient (a 2xx-4xx other than 408/429, a `TimeoutError` of the deadline, a caller's
 *   abort, a `HookError`): another attempt would not answer better;
 * - `failed`: transient (5xx, 408, 429, a network error, an attempt timeout): the next
 *   hedge goes at once, the others keep running;
 * - `not_sent`: the attempt never reached the server — its endpoint's breaker is open, its
 *   connection was refused, it found no permit or no pooled connection. It is replaced by an
 *   attempt to the next endpoint as if it had never been made (budget and
 *   `maxHedgedAttempts` untouched), and that endpoint is not tried again in the call.
 */
export type Verdict = 'accept' | 'failed' | 'not_sent';

export function verdictOf(outcome: Outcome): Verdict {
  if (outcome.kind === 'error') {
    const error = outcome.error;
    if (
      error instanceof CircuitOpenError ||
      error instanceof PoolExhaustedError ||
      error instanceof RateLimitedError ||
      error instanceof ConcurrencyLimitedError ||
      neverReachedServer(outcome)
    )
      return 'not_sent';
  }
  return isTransient(outcome) ? 'failed' : 'accept';
}

/**
 * When no attempt was acceptable, the call returns the most informative failure: a response
 * (the server's own word: its status and `Retry-After` are what retry decides on) over an
 * error from the wire (network error, attempt timeout) over an attempt that was never sent;
 * among equals, the one that ended last.
 */
export function failureRank(outcome: Outcome, verdict: Verdict): number {
  if (outcome.kind === 'response') return 3;
  return verdict === 'not_sent' ? 1 : 2;
}

/**
 * True when the attempt's duration is only a lower bound: it was cut short by a timeout or
 * an abort rather than answered.
 */
export function isCensored(outcome: Outcome): boolean {
  return (
    outcome.kind === 'error' &&
    (outcome.error instanceof TimeoutError || outcome.error instanceof AbortError)
  );
}

import { PoolExhaustedError, TimeoutError } from '../../errors.js';
import { isTransient } from '../../http/classify.js';
import type { CallContext, Outcome } from '../../pipeline/types.js';

/** What one finished call tells an adaptive limit. */
export type Sample = 'rtt' | 'drop' | 'none';

/** Answers that mean "too much": refused (429), shedding (503), or a gateway gave up (504). */
const OVERLOAD_STATUS = new Set([429, 503, 504]);

/**
 * What a call tells the limit of its origin. The limiter is outermost (outside the deadline
 * and retry), so a call's time holds its backoff sleeps and every re-send; only a call that
 * went out once and came back with an ordinary answer has a time that is a round trip:
 *
 * - `rtt`: one wire attempt, answered with anything but 429, 503 or 504 (a 404 or a 500 is
 *   the API working, however it answered) — its time from admission is a sample;
 * - `drop`: the API is overloaded, or the call suffered on the way: a 429, 503 or 504, a
 *   timeout (the attempt's, the deadline's, or the pool's), a transient network error, or a
 *   call that was re-sent (retried, or re-sent after a 401): its time holds a backoff;
 * - `none`: nothing reached the API or came back from it — the caller aborted, an admission
 *   layer, the breaker or a hook refused it — or it failed in a way that says nothing of
 *   load (an invalid request): no sample.
 */
export function sampleOf(ctx: CallContext, outcome: Outcome): Sample {
  if (outcome.kind === 'response') {
    if (OVERLOAD_STATUS.has(outcome.response.status)) return 'drop';
    return ctx.attempt > 0 ? 'drop' : 'rtt';
  }
  const error = outcome.error;
  if (error instanceof TimeoutError || error instanceof PoolExhaustedError) return 'drop';
  if (isTransient(outcome)) return 'drop';
  return ctx.attempt > 0 && ctx.attempts > 0 ? 'drop' : 'none';
}

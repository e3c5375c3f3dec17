import { NetworkError, PoolExhaustedError, TimeoutError } from '../../errors.js';
import { isTransient } from '../../http/classify.js';
import type { Outcome } from '../../pipeline/types.js';

/** What the backend did with one attempt, as the throttle counts it. */
export type Verdict = 'accepted' | 'refused' | 'not_sent';

/** Answers that refuse the work: too many requests, unavailable, a gateway's timeout. */
const REFUSAL_STATUS = new Set([429, 503, 504]);

/**
 * Did the backend accept the attempt? The throttle exists to stop sending what the backend
 * would refuse anyway, because it is overloaded or unreachable, so only that is a refusal:
 *
 * - `refused`: a 429, 503 or 504; a timeout on the wire (no answer within the attempt's time
 *   or the call's); a transient network error (connection refused or reset, DNS): sending
 *   more cannot help;
 * - `accepted`: any other answer — a 404, a 400 or a 500 means the backend took the request
 *   and processed it; throttling a client for its own bad requests would protect nobody;
 * - `not_sent`: it never reached the wire (`sent` false: an inner admission layer, the
 *   breaker or a hook refused it, or the caller gave up first), waited in vain for a pooled
 *   connection, or failed in a way that says nothing of the backend: it counts neither as a
 *   request nor as an accept.
 *
 * @param sent whether the attempt reached the transport (the call's attempt count grew).
 */
export function verdictOf(outcome: Outcome, sent: boolean): Verdict {
  if (outcome.kind === 'response') {
    return REFUSAL_STATUS.has(outcome.response.status) ? 'refused' : 'accepted';
  }
  const error = outcome.error;
  if (!sent || error instanceof PoolExhaustedError) return 'not_sent';
  if (error instanceof TimeoutError) return 'refused';
  return error instanceof NetworkError && isTransient(outcome) ? 'refused' : 'not_sent';
}

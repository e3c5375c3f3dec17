import { AbortError } from '../errors.js';
import type { CallContext, Outcome } from './types.js';

/** The outcome of a call the caller aborted: an `AbortError` carrying the signal's reason. */
export function abortedOutcome(ctx: CallContext): Outcome {
  return {
    kind: 'error',
    error: new AbortError(ctx.method, ctx.url, { cause: ctx.signal?.reason }),
  };
}

/** Drain and drop a response the pipeline will not return (so its socket is reused). */
export function discard(outcome: Outcome): void {
  if (outcome.kind !== 'response') return;
  void outcome.response.body.dump();
}

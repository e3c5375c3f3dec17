import { AbortError, TimeoutError } from '../errors.js';
import type { CallContext, Outcome } from './types.js';

/** The outcome of a call the caller aborted (see `callerAbortError`). */
export function abortedOutcome(ctx: CallContext): Outcome {
  return { kind: 'error', error: callerAbortError(ctx) };
}

/**
 * The error of a call its caller's signal ended, the signal's reason as `cause`. A signal
 * that aborted with a timeout (`AbortSignal.timeout(ms)`: a `DOMException` named
 * `TimeoutError`) ends it with a `TimeoutError` of kind `total`, as ky and got do; any other
 * abort with an `AbortError`.
 */
export function callerAbortError(ctx: CallContext): AbortError | TimeoutError {
  const reason: unknown = ctx.signal?.reason;
  if (reason instanceof DOMException && reason.name === 'TimeoutError') {
    return new TimeoutError(
      ctx.method,
      ctx.url,
      'total',
      performance.now() - ctx.startedAt,
      "the caller's signal timed out",
      { cause: reason },
    );
  }
  return new AbortError(ctx.method, ctx.url, { cause: reason });
}

/**
 * The error of an elapsed timeout of the call: `total` (its deadline) or `attempt` (one wire
 * attempt). The message names the setting that fired — the call's own (`timeoutMs`,
 * `attemptTimeoutMs`) or the client's (`totalTimeoutMs`, `attemptTimeoutMs`) — and
 * `timeoutMs` is its value.
 */
export function timeoutError(
  ctx: CallContext,
  kind: 'total' | 'attempt',
  attemptTimeoutMs = 0,
): TimeoutError {
  const own = ctx.overrides;
  if (kind === 'attempt') {
    const setBy = own?.attemptTimeoutMs === undefined ? "the client's" : "the call's";
    return new TimeoutError(
      ctx.method,
      ctx.url,
      kind,
      attemptTimeoutMs,
      `${setBy} attemptTimeoutMs`,
    );
  }
  const callMs = own?.timeoutMs;
  // The deadline strategy computed `startedAt + ms`: the same sum is equal, a difference may not be.
  if (callMs !== undefined && ctx.startedAt + callMs === ctx.deadline)
    return new TimeoutError(ctx.method, ctx.url, kind, callMs, "the call's timeoutMs");
  return new TimeoutError(
    ctx.method,
    ctx.url,
    kind,
    // (startedAt + ms) - startedAt may come back as 249.9999999999999 for 250: the client's
    // setting is what the deadline was made of, to well under a microsecond.
    Math.round((ctx.deadline - ctx.startedAt) * 1e6) / 1e6,
    "the client's totalTimeoutMs",
  );
}

/** Drain and drop a response the pipeline will not return (so its socket is reused). */
export function discard(outcome: Outcome): void {
  if (outcome.kind !== 'response') return;
  void outcome.response.body.dump();
}

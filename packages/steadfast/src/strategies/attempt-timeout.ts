import { PoolExhaustedError } from '../errors.js';
import { AttemptSignal } from '../pipeline/attempt-signal.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import { abortedOutcome, timeoutError } from '../pipeline/outcomes.js';
import { onAbort } from '../pipeline/signals.js';
import { TimeoutQueue } from '../pipeline/timeout-queue.js';
import type { CallContext, Next, Outcome, Strategy } from '../pipeline/types.js';

/**
 * Bounds one wire attempt by min(attempt timeout, time left to the deadline), up to the
 * response headers; the attempt timeout is the call's own `attemptTimeoutMs` when it gave
 * one. It gives the transport one signal per attempt that fires on the timeout or the
 * caller's abort — one light `AttemptSignal`, no `AbortSignal.any()`. The attempt timeouts
 * of a client share one timer (`TimeoutQueue`); only an attempt cut shorter by the deadline,
 * or with a call's own timeout, gets a timer of its own.
 */
export class AttemptTimeout implements Strategy {
  readonly name = 'timeout';
  readonly #timeouts: TimeoutQueue;

  constructor(
    private readonly attemptTimeoutMs: number,
    private readonly events: ClientEvents,
  ) {
    this.#timeouts = new TimeoutQueue(attemptTimeoutMs);
  }

  async execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const now = performance.now();
    const left = ctx.deadline - now;
    const own = ctx.overrides;
    const attemptMs = own?.attemptTimeoutMs ?? own?.clientAttemptTimeoutMs ?? this.attemptTimeoutMs;
    const kind = left < attemptMs ? 'total' : 'attempt';
    const timeoutMs = kind === 'total' ? left : attemptMs;
    const callerSignal = ctx.signal;
    if (callerSignal?.aborted) return abortedOutcome(ctx);
    if (timeoutMs <= 0) return this.#timedOut(ctx, kind, attemptMs);

    const signal = new AttemptSignal();
    let timedOut = false;
    const onTimeout = () => {
      timedOut = true;
      signal.abort(timeoutError(ctx, kind, attemptMs));
    };
    // The shared timer keeps one duration: the client's.
    const pending =
      kind === 'attempt' && attemptMs === this.attemptTimeoutMs
        ? this.#timeouts.add(onTimeout, now)
        : undefined;
    const timer = pending ? undefined : setTimeout(onTimeout, timeoutMs);
    const forgetCaller = callerSignal
      ? onAbort(callerSignal, () => signal.abort(callerSignal.reason))
      : undefined;
    ctx.attemptSignal = signal;
    try {
      const outcome = await next(ctx);
      if (outcome.kind === 'error') {
        if (timedOut) {
          // The transport found the attempt still waiting for a busy pool: keep its error.
          if (outcome.error instanceof PoolExhaustedError) {
            if (this.events.timeout.hasListeners)
              this.events.timeout.emit({ ctx, kind, timeoutMs, poolExhausted: true });
            return outcome;
          }
          return this.#timedOut(ctx, kind, attemptMs);
        }
        if (callerSignal?.aborted) return abortedOutcome(ctx);
      }
      return outcome;
    } finally {
      if (pending) this.#timeouts.cancel(pending);
      else clearTimeout(timer);
      forgetCaller?.();
      ctx.attemptSignal = undefined;
    }
  }

  #timedOut(ctx: CallContext, kind: 'attempt' | 'total', attemptMs: number): Outcome {
    const error = timeoutError(ctx, kind, attemptMs);
    if (this.events.timeout.hasListeners)
      this.events.timeout.emit({ ctx, kind, timeoutMs: error.timeoutMs, poolExhausted: false });
    return { kind: 'error', error };
  }
}

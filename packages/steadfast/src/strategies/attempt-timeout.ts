import { PoolExhaustedError, TimeoutError } from '../errors.js';
import { AttemptSignal } from '../pipeline/attempt-signal.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import { abortedOutcome } from '../pipeline/outcomes.js';
import { onAbort } from '../pipeline/signals.js';
import { TimeoutQueue } from '../pipeline/timeout-queue.js';
import type { CallContext, Next, Outcome, Strategy } from '../pipeline/types.js';

/**
 * Bounds one wire attempt by min(attempt timeout, time left to the deadline), up to the
 * response headers. It gives the transport one signal per attempt that fires on the
 * timeout or the caller's abort — one light `AttemptSignal`, no `AbortSignal.any()`. The
 * attempt timeouts of a client share one timer (`TimeoutQueue`); only an attempt cut
 * shorter by the deadline gets a timer of its own.
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
    const kind = left < this.attemptTimeoutMs ? 'total' : 'attempt';
    const timeoutMs = kind === 'total' ? left : this.attemptTimeoutMs;
    const callerSignal = ctx.signal;
    if (callerSignal?.aborted) return abortedOutcome(ctx);
    if (timeoutMs <= 0) return this.#timedOut(ctx, kind, this.attemptTimeoutMs);

    const signal = new AttemptSignal();
    let timedOut = false;
    const onTimeout = () => {
      timedOut = true;
      signal.abort(new TimeoutError(ctx.method, ctx.url, kind, timeoutMs));
    };
    const pending = kind === 'attempt' ? this.#timeouts.add(onTimeout, now) : undefined;
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
          return this.#timedOut(ctx, kind, timeoutMs);
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

  #timedOut(ctx: CallContext, kind: 'attempt' | 'total', timeoutMs: number): Outcome {
    const reportedMs = kind === 'total' ? ctx.deadline - ctx.startedAt : timeoutMs;
    if (this.events.timeout.hasListeners)
      this.events.timeout.emit({ ctx, kind, timeoutMs: reportedMs, poolExhausted: false });
    return { kind: 'error', error: new TimeoutError(ctx.method, ctx.url, kind, reportedMs) };
  }
}

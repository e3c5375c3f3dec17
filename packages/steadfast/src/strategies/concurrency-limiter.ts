import { ClientClosedError, ConcurrencyLimitedError } from '../errors.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import { abortedOutcome } from '../pipeline/outcomes.js';
import { onAbort } from '../pipeline/signals.js';
import type { CallContext, Next, Outcome, Strategy } from '../pipeline/types.js';

/** How a wait for a slot ended. */
type Admission = 'admitted' | 'aborted' | 'closed';

interface Waiter {
  readonly resolve: (admission: Admission) => void;
}

/**
 * Caps the calls in flight for one client. When the limit and the queue are full the call
 * fails at once with `ConcurrencyLimitedError` — outermost in the pipeline, so a rejection
 * is never retried. The queue is FIFO; a caller abort while queued leaves the queue, and
 * `dispose()` (the client's `close()`) ends every queued call with `ClientClosedError`.
 */
export class ConcurrencyLimiter implements Strategy {
  readonly name = 'concurrency_limiter';
  #inflight = 0;
  readonly #queue: Waiter[] = [];
  #closed = false;

  constructor(
    private readonly limit: number,
    private readonly queueLimit: number,
    private readonly events: ClientEvents,
    private readonly client: string,
  ) {}

  get inflight(): number {
    return this.#inflight;
  }

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    if (this.#inflight < this.limit) {
      // The steady state: a free slot. `.then` rather than an async function: one promise
      // per call instead of two (each costs a promise hook under an OpenTelemetry context
      // manager). The slot is released however the call ends, even by a throw.
      this.#inflight++;
      this.#emit(false, ctx);
      let pending: Promise<Outcome>;
      try {
        pending = next(ctx);
      } catch (error) {
        this.#release();
        return Promise.reject(error);
      }
      return pending.then(
        (outcome) => {
          this.#release();
          return outcome;
        },
        (error: unknown) => {
          this.#release();
          throw error;
        },
      );
    }
    return this.#queued(ctx, next);
  }

  async #queued(ctx: CallContext, next: Next): Promise<Outcome> {
    if (this.#inflight >= this.limit) {
      if (this.#queue.length >= this.queueLimit) {
        this.#emit(true, ctx);
        return {
          kind: 'error',
          error: new ConcurrencyLimitedError(ctx.method, ctx.url, this.limit),
        };
      }
      const admission = this.#closed ? 'closed' : await this.#wait(ctx.signal);
      if (admission === 'aborted') return abortedOutcome(ctx);
      if (admission === 'closed') {
        return { kind: 'error', error: new ClientClosedError(ctx.client, ctx.method, ctx.url) };
      }
    } else {
      this.#inflight++;
    }
    this.#emit(false, ctx);
    try {
      return await next(ctx);
    } finally {
      this.#release();
    }
  }

  /** Wait for a slot. The slot is handed over by `#release`, so `#inflight` is already counted. */
  #wait(signal: AbortSignal | undefined): Promise<Admission> {
    return new Promise<Admission>((resolve) => {
      const waiter: Waiter = {
        resolve: (admission) => {
          forget?.();
          resolve(admission);
        },
      };
      this.#queue.push(waiter);
      const forget = signal
        ? onAbort(signal, () => {
            const index = this.#queue.indexOf(waiter);
            if (index >= 0) this.#queue.splice(index, 1);
            resolve('aborted');
          })
        : undefined;
    });
  }

  #release(): void {
    const waiter = this.#queue.shift();
    if (waiter) {
      waiter.resolve('admitted'); // hand the slot over: in-flight count unchanged
    } else {
      this.#inflight--;
      this.#emit(false, undefined);
    }
  }

  /** End every queued call with `ClientClosedError`; calls queued later end the same way. */
  dispose(): void {
    this.#closed = true;
    for (const waiter of this.#queue.splice(0)) waiter.resolve('closed');
  }

  #emit(rejected: boolean, ctx: CallContext | undefined): void {
    if (!this.events.limiter.hasListeners) return;
    this.events.limiter.emit({
      client: this.client,
      inflight: this.#inflight,
      limit: this.limit,
      rejected,
      ctx,
    });
  }
}

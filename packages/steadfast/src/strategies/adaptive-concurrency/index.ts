import type { adaptiveConcurrencySchema } from '../../config/adaptive-schema.js';
import type { Resolved } from '../../config/schema.js';
import { ClientClosedError, ConcurrencyLimitedError } from '../../errors.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import { abortedOutcome } from '../../pipeline/outcomes.js';
import { onAbort } from '../../pipeline/signals.js';
import type { CallContext, Next, Outcome, Strategy } from '../../pipeline/types.js';
import { AimdController } from './aimd.js';
import type { LimitController } from './controller.js';
import { GradientController } from './gradient.js';
import { sampleOf } from './sample.js';

export type ResolvedAdaptiveConcurrencyOptions = Readonly<
  Resolved<typeof adaptiveConcurrencySchema>
>;

/** How a wait for a slot ended. */
type Admission = 'admitted' | 'aborted' | 'closed';

interface Waiter {
  readonly resolve: (admission: Admission) => void;
}

/** One origin's limit, its calls in flight and the calls waiting for a slot (FIFO). */
class OriginLimit {
  inflight = 0;
  readonly queue: Waiter[] = [];
  /** When a call last took a slot (`performance.now()`): the oldest idle origin goes first. */
  usedAt = 0;
  constructor(
    readonly origin: string,
    readonly controller: LimitController,
  ) {}
}

/**
 * The adaptive concurrency limit (`concurrency.adaptive`): like the fixed limiter it replaces
 * — outermost but for the call span and boundary, a call past the limit and `queue` fails at
 * once with `ConcurrencyLimitedError`, never retried — but with a limit per origin that an
 * algorithm (aimd.ts, gradient.ts) moves from what each finished call tells (sample.ts).
 * Origins are bounded (`maxOrigins`): past it the least recently used idle one is forgotten.
 * `limiter` events report the origin's calls in flight and limit, and the client's (every
 * origin's calls, the sum of the limits); `concurrencyLimit` events report each move.
 */
export class AdaptiveConcurrencyLimiter implements Strategy {
  readonly name = 'adaptive_concurrency';
  readonly #origins = new Map<string, OriginLimit>();
  #inflight = 0;
  /** The limits of every origin known, added up (kept as they move). */
  #limitSum = 0;
  #closed = false;

  constructor(
    private readonly options: ResolvedAdaptiveConcurrencyOptions,
    private readonly queueLimit: number,
    private readonly events: ClientEvents,
    private readonly client: string,
  ) {}

  /** Calls in flight now, every origin together. */
  get inflight(): number {
    return this.#inflight;
  }

  /** The limit of each origin called (and not forgotten) so far. */
  limits(): ReadonlyMap<string, number> {
    const limits = new Map<string, number>();
    for (const [origin, state] of this.#origins) limits.set(origin, state.controller.limit);
    return limits;
  }

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const origin = this.#originOf(ctx.origin);
    if (origin.queue.length === 0 && origin.inflight < origin.controller.limit) {
      origin.inflight++;
      this.#inflight++;
      return this.#run(origin, ctx, next);
    }
    return this.#queued(origin, ctx, next);
  }

  /**
   * Run the call in the slot already counted for it, and give the slot back however it ends.
   * `.then` rather than an async function: one promise per call instead of two.
   */
  #run(origin: OriginLimit, ctx: CallContext, next: Next): Promise<Outcome> {
    const startedAt = performance.now();
    const inflight = origin.inflight;
    origin.usedAt = startedAt;
    this.#emit(origin, false, ctx);
    let pending: Promise<Outcome>;
    try {
      pending = next(ctx);
    } catch (error) {
      this.#release(origin, ctx, startedAt, inflight, undefined);
      return Promise.reject(error);
    }
    return pending.then(
      (outcome) => {
        this.#release(origin, ctx, startedAt, inflight, outcome);
        return outcome;
      },
      (error: unknown) => {
        this.#release(origin, ctx, startedAt, inflight, undefined);
        throw error;
      },
    );
  }

  async #queued(origin: OriginLimit, ctx: CallContext, next: Next): Promise<Outcome> {
    const limit = origin.controller.limit;
    origin.controller.onLimitReached();
    if (origin.queue.length >= this.queueLimit) {
      this.#emit(origin, true, ctx);
      return { kind: 'error', error: new ConcurrencyLimitedError(ctx.method, ctx.url, limit) };
    }
    const admission = this.#closed ? 'closed' : await this.#wait(origin, ctx.signal);
    if (admission === 'aborted') return abortedOutcome(ctx);
    if (admission === 'closed') {
      return { kind: 'error', error: new ClientClosedError(ctx.client, ctx.method, ctx.url) };
    }
    return this.#run(origin, ctx, next);
  }

  /** Wait for a slot; `#admitWaiting` counts it before it wakes the waiter. */
  #wait(origin: OriginLimit, signal: AbortSignal | undefined): Promise<Admission> {
    return new Promise<Admission>((resolve) => {
      const waiter: Waiter = {
        resolve: (admission) => {
          forget?.();
          resolve(admission);
        },
      };
      origin.queue.push(waiter);
      const forget = signal
        ? onAbort(signal, () => {
            const index = origin.queue.indexOf(waiter);
            if (index >= 0) origin.queue.splice(index, 1);
            resolve('aborted');
          })
        : undefined;
    });
  }

  /** Tell the controller what the call says, free its slot, admit whom the limit lets in. */
  #release(
    origin: OriginLimit,
    ctx: CallContext,
    startedAt: number,
    inflight: number,
    outcome: Outcome | undefined,
  ): void {
    const sample = outcome ? sampleOf(ctx, outcome) : 'none';
    if (sample !== 'none') {
      const { controller } = origin;
      const previous = controller.limit;
      const now = performance.now();
      controller.onSample(now, startedAt, now - startedAt, inflight, sample === 'drop');
      const limit = controller.limit;
      this.#limitSum += limit - previous;
      if (limit !== previous && this.events.concurrencyLimit.hasListeners) {
        this.events.concurrencyLimit.emit({
          client: this.client,
          origin: origin.origin,
          algorithm: this.options.algorithm,
          limit,
          previous,
        });
      }
    }
    origin.inflight--;
    this.#inflight--;
    this.#emit(origin, false, ctx);
    this.#admitWaiting(origin);
  }

  /** Hand free slots to the queue's head while the (maybe new) limit has room. */
  #admitWaiting(origin: OriginLimit): void {
    const { queue, controller } = origin;
    while (queue.length > 0 && origin.inflight < controller.limit) {
      origin.inflight++;
      this.#inflight++;
      queue.shift()!.resolve('admitted');
    }
  }

  #originOf(key: string): OriginLimit {
    let origin = this.#origins.get(key);
    if (origin) return origin;
    if (this.#origins.size >= this.options.maxOrigins) this.#forgetOne();
    origin = new OriginLimit(key, this.#controller());
    this.#origins.set(key, origin);
    this.#limitSum += origin.controller.limit;
    return origin;
  }

  #controller(): LimitController {
    return this.options.algorithm === 'aimd'
      ? new AimdController(this.options)
      : new GradientController(this.options);
  }

  /**
   * Forget the least recently used origin with nothing in flight or queued (its limit starts
   * over if it comes back). A scan, only at the cap; when every origin is busy, none goes.
   */
  #forgetOne(): void {
    let oldest: OriginLimit | undefined;
    for (const origin of this.#origins.values()) {
      if (origin.inflight > 0 || origin.queue.length > 0) continue;
      if (!oldest || origin.usedAt < oldest.usedAt) oldest = origin;
    }
    if (oldest) {
      this.#origins.delete(oldest.origin);
      this.#limitSum -= oldest.controller.limit;
    }
  }

  /** End every queued call with `ClientClosedError`; calls queued later end the same way. */
  dispose(): void {
    this.#closed = true;
    for (const origin of this.#origins.values()) {
      for (const waiter of origin.queue.splice(0)) waiter.resolve('closed');
    }
  }

  #emit(origin: OriginLimit, rejected: boolean, ctx: CallContext): void {
    if (!this.events.limiter.hasListeners) return;
    this.events.limiter.emit({
      client: this.client,
      inflight: origin.inflight,
      limit: origin.controller.limit,
      rejected,
      ctx,
      clientInflight: this.#inflight,
      clientLimit: this.#limitSum,
    });
  }
}

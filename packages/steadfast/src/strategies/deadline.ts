import type { CallContext, Next, Outcome, Strategy } from '../pipeline/types.js';

/**
 * Sets the call's deadline (total timeout). It arms no timer: every inner strategy reads
 * `ctx.deadline` — the attempt timeout bounds each attempt by the time left, and the retry
 * strategy never sleeps past it — so the deadline costs nothing on the success path.
 */
export class Deadline implements Strategy {
  readonly name = 'deadline';

  constructor(private readonly totalTimeoutMs: number) {}

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    ctx.deadline = ctx.startedAt + this.totalTimeoutMs;
    return next(ctx);
  }
}

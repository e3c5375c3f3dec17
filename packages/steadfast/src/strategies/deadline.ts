import type { CallContext, Next, Outcome, Strategy } from '../pipeline/types.js';

/**
 * Sets the call's deadline (total timeout): the client's `totalTimeoutMs`, or the call's own
 * `timeoutMs` when that is sooner. It arms no timer: every inner strategy reads
 * `ctx.deadline` — the attempt timeout bounds each attempt by the time left, and the retry
 * strategy never sleeps past it — so the deadline costs nothing on the success path.
 */
export class Deadline implements Strategy {
  readonly name = 'deadline';

  constructor(private readonly totalTimeoutMs: number) {}

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const callMs = ctx.overrides?.timeoutMs;
    ctx.deadline =
      ctx.startedAt +
      (callMs !== undefined && callMs < this.totalTimeoutMs ? callMs : this.totalTimeoutMs);
    return next(ctx);
  }
}

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
    const own = ctx.overrides;
    const callMs = own?.timeoutMs;
    // A derived client's totalTimeoutMs replaces the pipeline's (longer or shorter).
    const totalMs = own?.clientTotalTimeoutMs ?? this.totalTimeoutMs;
    ctx.deadline = ctx.startedAt + (callMs !== undefined && callMs < totalMs ? callMs : totalMs);
    return next(ctx);
  }
}

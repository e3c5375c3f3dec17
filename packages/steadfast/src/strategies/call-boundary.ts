import type { ClientEvents } from '../pipeline/client-events.js';
import type { CallContext, Next, Outcome, Strategy } from '../pipeline/types.js';

/**
 * Marks one logical call: emits `callStart` and `callEnd` (with the whole duration, backoff
 * included). It sits inside the tracing layer so metric listeners see the call's span.
 */
export class CallBoundary implements Strategy {
  readonly name = 'call';

  constructor(private readonly events: ClientEvents) {}

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const { callStart, callEnd } = this.events;
    // Nobody listens (telemetry off): hand the promise through, no extra async frame.
    if (!callStart.hasListeners && !callEnd.hasListeners) return next(ctx);
    return this.#observed(ctx, next);
  }

  // `.then` rather than an async function: one promise per call instead of two (each costs
  // a promise hook when the app runs an OpenTelemetry context manager).
  #observed(ctx: CallContext, next: Next): Promise<Outcome> {
    const { callStart, callEnd } = this.events;
    if (callStart.hasListeners) callStart.emit({ ctx });
    return next(ctx).then((outcome) => {
      if (callEnd.hasListeners)
        callEnd.emit({ ctx, outcome, durationMs: performance.now() - ctx.startedAt });
      return outcome;
    });
  }
}

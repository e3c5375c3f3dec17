import { errorTypeOf } from '../http/classify.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import type { CallContext, Next, Outcome, Strategy } from '../pipeline/types.js';

/**
 * Marks one wire attempt: counts it and emits `attemptStart` / `attemptEnd` (with duration
 * and `error.type`) for telemetry. Costs one counter increment when nobody listens.
 */
export class AttemptBoundary implements Strategy {
  readonly name = 'attempt';

  constructor(private readonly events: ClientEvents) {}

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    ctx.attempts++;
    const { attemptStart, attemptEnd } = this.events;
    // Nobody listens (telemetry off): hand the promise through, no extra async frame.
    if (!attemptStart.hasListeners && !attemptEnd.hasListeners) return next(ctx);
    return this.#observed(ctx, next);
  }

  // `.then` rather than an async function: one promise per attempt instead of two (each
  // costs a promise hook when the app runs an OpenTelemetry context manager).
  #observed(ctx: CallContext, next: Next): Promise<Outcome> {
    const { attemptStart, attemptEnd } = this.events;
    const attempt = ctx.attempt;
    if (attemptStart.hasListeners) attemptStart.emit({ ctx, attempt });
    const startedAt = performance.now();
    return next(ctx).then((outcome) => {
      attemptEnd.emit({
        ctx,
        attempt,
        outcome,
        durationMs: performance.now() - startedAt,
        errorType: errorTypeOf(outcome),
      });
      return outcome;
    });
  }
}

import {
  InvalidRequestError,
  RateLimitedError,
  type RateLimiterKind,
  type RateLimitRejection,
} from '../errors.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import type { CallContext, Outcome } from '../pipeline/types.js';

/**
 * What the three admission layers — the rate limiter, the fleet quota and the cooldown —
 * share: how long an attempt may wait for its permit, how a grant or a refusal is reported,
 * and how a weight is read.
 */

/** The latest time an attempt may get its permit, and which bound that is. */
export interface WaitBound {
  readonly at: number;
  readonly reason: 'deadline' | 'max_wait';
}

/** The sooner of the call's deadline and `now + maxWaitMs`. */
export function waitBound(ctx: CallContext, maxWaitMs: number | undefined, now: number): WaitBound {
  if (maxWaitMs !== undefined && now + maxWaitMs < ctx.deadline) {
    return { at: now + maxWaitMs, reason: 'max_wait' };
  }
  return { at: ctx.deadline, reason: 'deadline' };
}

/** Report a grant (when someone listens). */
export function reportGrant(
  events: ClientEvents,
  ctx: CallContext,
  limiter: RateLimiterKind,
  permits: number,
  waitMs: number,
): void {
  if (events.rateLimit.hasListeners) {
    events.rateLimit.emit({ ctx, limiter, permits, waitMs, rejected: undefined });
  }
}

/** Report a refusal and build its outcome: a `RateLimitedError`, never retried. */
export function refusal(
  events: ClientEvents,
  ctx: CallContext,
  limiter: RateLimiterKind,
  permits: number,
  reason: RateLimitRejection,
  waitMs: number,
): Outcome {
  if (events.rateLimit.hasListeners) {
    events.rateLimit.emit({ ctx, limiter, permits, waitMs, rejected: reason });
  }
  return {
    kind: 'error',
    error: new RateLimitedError(ctx.method, ctx.url, limiter, reason, waitMs),
  };
}

/**
 * The permits an attempt takes: `weight`, `weight(ctx)`, or 1. A weight that is not a positive finite
 * number is the caller's mistake: an `InvalidRequestError` naming the option.
 */
export function attemptWeight(
  weight: number | ((ctx: CallContext) => number) | undefined,
  ctx: CallContext,
  option: string,
): number | InvalidRequestError {
  if (weight === undefined) return 1;
  if (typeof weight === 'number') return weight; // checked at construction
  const value = weight(ctx);
  return typeof value === 'number' && value > 0 && Number.isFinite(value)
    ? value
    : new InvalidRequestError(
        `${option}.weight must return a positive finite number, got ${typeof value === 'number' ? value : typeof value}`,
        { field: `${option}.weight` },
      );
}

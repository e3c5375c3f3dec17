import type { FallbackEvent, HedgeEvent } from '../pipeline/events.js';
import type { CallContext } from '../pipeline/types.js';

/** Bounds of an adaptive concurrency limit, as configured (`concurrency.adaptive`). */
export interface AdaptiveLimitBounds {
  readonly minLimit: number;
  readonly maxLimit: number;
  /** The limit each origin starts at, before its first change. */
  readonly initialLimit: number;
}

/**
 * The adaptive throttle's state now: each origin's rejection probability (the strategy's
 * `counts()`), read when metrics are collected, never per call.
 */
export type ThrottleProbe = () => ReadonlyMap<string, { readonly probability: number }>;

/**
 * Which of the strategies of the resilience toolbox a client has — hedging, fallback,
 * adaptive concurrency, the adaptive throttle's probabilities (the throttle itself is an
 * admission layer: `AdmissionLayers`, its refusals flow through `rateLimit`) —
 * so that telemetry subscribes to their events only when a layer can emit them, and a
 * client without them carries no listener and no series.
 */
export interface ToolboxLayers {
  readonly hedging: boolean;
  readonly fallback: boolean;
  /** The adaptive limit's bounds; `undefined`: no adaptive concurrency. */
  readonly adaptiveConcurrency: AdaptiveLimitBounds | undefined;
  /** Reads the adaptive throttle's probabilities; `undefined`: no throttle, or nothing to read. */
  readonly throttleProbe: ThrottleProbe | undefined;
}

/** None of them: what a client gets when `createTelemetry` is told nothing. */
export const NO_TOOLBOX: ToolboxLayers = {
  hedging: false,
  fallback: false,
  adaptiveConcurrency: undefined,
  throttleProbe: undefined,
};

/** Slot of `CallContext.slots` holding the fallback that answered the call (served only). */
const FALLBACK_SERVED_SLOT = Symbol('steadfast.fallbackServed');

/**
 * Remember on the call that a fallback answered it, so that the call's end (its span, its
 * `kind`) can say so. Subscribed once per client, whatever adapters are on.
 */
export function markFallbackServed(e: FallbackEvent): void {
  if (e.served) e.ctx.slots.set(FALLBACK_SERVED_SLOT, e);
}

/** The fallback that answered the call, if one did. */
export function fallbackServedOf(ctx: CallContext): FallbackEvent | undefined {
  return ctx.slots.get(FALLBACK_SERVED_SLOT) as FallbackEvent | undefined;
}

/** Slot holding how many hedges the call sent (absent: none). */
const HEDGES_SENT_SLOT = Symbol('steadfast.hedgesSent');

/**
 * Count a hedge the call sent, so that its end can tell hedges from re-sends: a hedged call
 * is no call "with retry" for having sent a hedge. Subscribed once per client.
 */
export function markHedgeSent(e: HedgeEvent): void {
  if (e.skipped !== undefined) return;
  const slots = e.ctx.slots;
  slots.set(HEDGES_SENT_SLOT, ((slots.get(HEDGES_SENT_SLOT) as number | undefined) ?? 0) + 1);
}

/**
 * The call's wire attempts that were not hedges: the first and its re-sends (transient
 * retries, 401 re-sends), what `kind`'s "with retry" counts. A hedge that never reached the
 * wire (its endpoint's breaker open, no permit) is no wire attempt either, so the count is
 * at least 1 whenever the call made an attempt.
 */
export function attemptsBesidesHedges(ctx: CallContext): number {
  const hedges = ctx.slots.get(HEDGES_SENT_SLOT) as number | undefined;
  if (hedges === undefined) return ctx.attempts;
  return ctx.attempts > 0 ? Math.max(1, ctx.attempts - hedges) : 0;
}

import type { FallbackEvent } from '../pipeline/events.js';
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

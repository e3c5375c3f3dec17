/**
 * Which admission layers a client has — the in-process rate limiter, the fleet quota, the
 * server-driven cooldown, the adaptive throttle — so that telemetry subscribes to their events only when a layer
 * can emit them, and a client without them carries no listener and no series.
 */
export interface AdmissionLayers {
  readonly rateLimiter: boolean;
  /** The fleet quota's limit, permits per second for the whole fleet; `undefined`: no quota. */
  readonly quotaLimitPerSecond: number | undefined;
  readonly cooldown: boolean;
  /**
   * Client-side adaptive throttling (the SRE book's): it refuses attempts locally, as
   * `RateLimitedError` (limiter `adaptive_throttle`, reason `throttled`).
   */
  readonly adaptiveThrottle: boolean;
}

/** Whether some layer emits `rateLimit` (each of the four does). */
export function emitsRateLimit(layers: AdmissionLayers): boolean {
  return (
    layers.rateLimiter ||
    layers.quotaLimitPerSecond !== undefined ||
    layers.cooldown ||
    layers.adaptiveThrottle
  );
}

/**
 * Which admission layers a client has — the in-process rate limiter, the fleet quota, the
 * server-driven cooldown — so that telemetry subscribes to their events only when a layer
 * can emit them, and a client without them carries no listener and no series.
 */
export interface AdmissionLayers {
  readonly rateLimiter: boolean;
  /** The fleet quota's limit, permits per second for the whole fleet; `undefined`: no quota. */
  readonly quotaLimitPerSecond: number | undefined;
  readonly cooldown: boolean;
}

/** Whether some layer emits `rateLimit` (each of the three does). */
export function emitsRateLimit(layers: AdmissionLayers): boolean {
  return layers.rateLimiter || layers.quotaLimitPerSecond !== undefined || layers.cooldown;
}

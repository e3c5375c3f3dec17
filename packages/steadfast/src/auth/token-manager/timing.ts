/** How a token's lifetime splits into a fresh period, a soft (refresh-ahead) window and a hard skew. */
export interface RefreshTiming {
  /** Never send a token this close to its expiry (ms). */
  readonly hardSkewMs: number;
  /** Refresh in the background this long before the hard limit (ms). */
  readonly softWindowMs: number;
}

/** Refresh-timing knobs, all in milliseconds except the ratios. */
export interface RefreshTimingOptions {
  /** Upper bound of the hard skew. Default: 30 000 (30 s). */
  readonly hardSkewMs: number;
  /** Hard skew as a share of the lifetime for short tokens. Default: 0.1. */
  readonly hardSkewRatio: number;
  /** Soft window as a share of the lifetime. Default: 0.2. */
  readonly softWindowRatio: number;
  /** Lower clamp of the soft window. Default: 60 000 (60 s). */
  readonly minSoftWindowMs: number;
  /** Upper clamp of the soft window. Default: 600 000 (10 min). */
  readonly maxSoftWindowMs: number;
}

/**
 * The hard skew is min(`hardSkewMs`, `hardSkewRatio` × lifetime); the soft window is
 * `softWindowRatio` × lifetime clamped to [`minSoftWindowMs`, `maxSoftWindowMs`], but
 * never more than half of what is left after the hard skew: with the 60 s floor alone, a
 * token shorter than ~2 min would be "in the soft window" from the moment it is minted and
 * the fleet would refresh it continuously (docs/tokens.md, "Where this differs").
 */
export function refreshTiming(lifetimeMs: number, options: RefreshTimingOptions): RefreshTiming {
  const hardSkewMs = Math.min(options.hardSkewMs, options.hardSkewRatio * lifetimeMs);
  const usable = Math.max(0, lifetimeMs - hardSkewMs);
  const clamped = Math.min(
    options.maxSoftWindowMs,
    Math.max(options.minSoftWindowMs, options.softWindowRatio * lifetimeMs),
  );
  return { hardSkewMs, softWindowMs: Math.min(clamped, usable / 2) };
}

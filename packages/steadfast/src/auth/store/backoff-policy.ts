/**
 * How a fleet-wide backoff grows. The store counts the fleet's consecutive token-endpoint
 * failures (the step) next to the backoff, so whichever instance holds the lease when the
 * next failure comes continues the sequence instead of starting again at `baseMs`.
 */
export interface BackoffPolicy {
  /** Backoff after the first consecutive failure (ms); it doubles with each further one. */
  readonly baseMs: number;
  /** Cap of the doubling (ms). */
  readonly maxMs: number;
  /** Share of the doubled delay to wait, in (0, 1]: the caller's jitter draw (1 = none). */
  readonly jitter: number;
  /** Never shorter than this (ms): a `Retry-After`, or 0. */
  readonly atLeastMs: number;
}

/** What a store did on a failure: the fleet's failure count now, and the backoff it set. */
export interface BackoffApplied {
  /** Consecutive failures of the fleet for this credential, this one included. */
  readonly failures: number;
  readonly durationMs: number;
}

/**
 * The backoff after `failures` consecutive failures: `baseMs` × 2^(failures − 1) capped at
 * `maxMs`, times the jitter, at least `atLeastMs`, whole milliseconds, at least 1. The Redis
 * store computes the same in Lua (`BACKOFF_SCRIPT`).
 */
export function backoffDurationMs(policy: BackoffPolicy, failures: number): number {
  const doubled = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.max(1, Math.ceil(Math.max(doubled * policy.jitter, policy.atLeastMs)));
}

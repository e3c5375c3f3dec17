import type { QuotaLease, QuotaLeaseRequest } from './store.js';

/**
 * One GCRA step, the same arithmetic as the Redis store's Lua script (packages/redis): given
 * the quota's theoretical arrival time `tat` and `now` (same clock, ms), how many permits of
 * `request` fit, when the first may be used, and the new TAT.
 */
export function gcraLease(
  tat: number,
  now: number,
  request: QuotaLeaseRequest,
): { lease: Omit<QuotaLease, 'fleetSize'>; tat: number } {
  const { emissionMs, burst, horizonMs, want, min } = request;
  const start = Math.max(tat, now);
  // Permit i (from 0) may be used at start + i·T − (burst − 1)·T; a lease reserves those
  // usable by now + horizon.
  const slack = (burst - 1) * emissionMs;
  const room = Math.floor((now + horizonMs + slack - start) / emissionMs) + 1;
  const granted = Math.max(0, Math.min(want, room));
  if (granted < min) {
    const usableAt = start + (min - 1) * emissionMs - slack;
    return {
      lease: { granted: 0, firstInMs: 0, retryInMs: Math.max(1, usableAt - (now + horizonMs)) },
      tat,
    };
  }
  return {
    lease: { granted, firstInMs: start - slack - now, retryInMs: 0 },
    tat: start + granted * emissionMs,
  };
}

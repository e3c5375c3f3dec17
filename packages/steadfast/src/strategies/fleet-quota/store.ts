/**
 * Where a fleet shares one quota: the contract the fleet-quota strategy leases permits
 * through. Two implementations: {@link memoryQuotaStore} (one process) and the Redis token
 * store of `@steadfast/redis` (the whole fleet, one Lua script per lease).
 *
 * The algorithm is GCRA (the generic cell rate algorithm): the store keeps one number per
 * quota, the theoretical arrival time (TAT) of the next permit. Permit i of a lease may be
 * used from `firstInMs + i × emissionMs` on, so however the permits are spread over the
 * instances, in any window of W ms the fleet uses at most `burst + W ÷ emissionMs` of them.
 */

/** What one lease asks for. */
export interface QuotaLeaseRequest {
  /** Permits wanted; at most this many are granted. */
  readonly want: number;
  /** Grant nothing unless at least this many fit (a weighted attempt's permits go together). */
  readonly min: number;
  /** ms between two permits at the quota's rate: `intervalMs ÷ limit`. */
  readonly emissionMs: number;
  /** Permits that may be used at once after a quiet period (GCRA's burst). */
  readonly burst: number;
  /** How far ahead of now a lease may reserve permits, ms. */
  readonly horizonMs: number;
  /** This instance's id: the store counts the instances that took a lease recently. */
  readonly instance: string;
}

/** What the store granted. */
export interface QuotaLease {
  /** Permits granted, 0 when `min` did not fit. */
  readonly granted: number;
  /**
   * ms from now (the store's now) until the first granted permit may be used; ≤ 0 means at
   * once. Permit i follows `i × emissionMs` later.
   */
  readonly firstInMs: number;
  /** When nothing was granted: ms until `min` permits would fit. */
  readonly retryInMs: number;
  /** Instances that took a lease in the last {@link FLEET_MEMBER_TTL_MS}; `undefined` when unknown. */
  readonly fleetSize: number | undefined;
}

/** How long an instance counts as part of the fleet after its last lease. */
export const FLEET_MEMBER_TTL_MS = 30_000;

/** A store of fleet quotas. Every method is one atomic step. */
export interface QuotaStore {
  /** `memory` or `redis`: in events, never in metric labels. */
  readonly kind: string;
  /** Upper bound of one operation (ms); the strategy guards with it. `Infinity` for memory. */
  readonly operationTimeoutMs: number;
  /** Take up to `request.want` permits of quota `key`. */
  lease(key: string, request: QuotaLeaseRequest): Promise<QuotaLease>;
  /** Count one user (a client); stores that share a connection close it after the last. */
  attach(): void;
  detach(): Promise<void>;
}

/** True for an object that can lease quota permits (a memory or Redis store). */
export function isQuotaStore(value: unknown): value is QuotaStore {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as QuotaStore).lease === 'function' &&
    typeof (value as QuotaStore).attach === 'function' &&
    typeof (value as QuotaStore).detach === 'function'
  );
}

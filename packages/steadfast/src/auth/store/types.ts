import type { BackoffApplied, BackoffPolicy } from './backoff-policy.js';

export type { BackoffApplied, BackoffPolicy } from './backoff-policy.js';

/** A token as the store keeps it. `value` is the secret part; everything else is metadata. */
export interface StoredToken {
  readonly value: string;
  /** {@link tokenFingerprint} of `value`. */
  readonly fingerprint: string;
  /** `Bearer`, or `DPoP` for a token bound to a key (RFC 9449). */
  readonly type: string;
  /** Unix epoch ms when the token request was sent (by the writer's clock; informative). */
  readonly issuedAt: number;
  /**
   * DPoP with `keySharing: 'store'`: the private JWK (JSON) of the key the token is bound
   * to, so every instance that adopts the token can sign its proofs. A secret like `value`:
   * a store writes it only where records are encrypted ({@link TokenStore.confidential}).
   */
  readonly dpopKey?: string;
  /** `expires_in` in ms as the token endpoint said (or the default lifetime). */
  readonly lifetimeMs: number;
  /** The fencing number of the lease under which it was written (0 when offered without a lease). */
  readonly generation: number;
}

/** One round trip: the token, its remaining time, and any fleet-wide backoff. */
export interface StoreReadResult {
  readonly token: StoredToken | undefined;
  /** Remaining time to live of the token record on the store's clock (ms); 0 when absent. */
  readonly ttlMs: number;
  /** Remaining fleet-wide backoff (ms); 0 when none. */
  readonly backoffMs: number;
  /** The failure that started the backoff (an `error.type` such as `invalid_client` or `503`). */
  readonly backoffReason: string | undefined;
}

/** Result of a compare-and-delete by fingerprint. */
export type InvalidationResult = 'deleted' | 'newer_present' | 'absent';

/**
 * Where the fleet shares tokens, leases, fences and backoffs. Every method is one atomic
 * step (one Lua script on Redis). Keys are per credential key `k` (see `credentialKey`).
 * Two implementations: {@link memoryTokenStore} (one process) and {@link redisTokenStore}.
 */
export interface TokenStore {
  /** `memory` or `redis`: shows up in docs and events, never in metric labels. */
  readonly kind: string;
  /** Upper bound of one store operation (ms); the token manager guards with it. `Infinity` for memory. */
  readonly operationTimeoutMs: number;
  /**
   * True when a record may carry a private key ({@link StoredToken.dpopKey}): the store
   * keeps records in process (memory) or encrypted at rest (Redis with `encryptionKey`).
   */
  readonly confidential?: boolean;
  /** Token, its TTL and the backoff in one round trip. */
  read(key: string): Promise<StoreReadResult>;
  /** Take the refresh lease (`SET NX PX`) and bump the fence. Resolves the fence, or 0 when someone else holds it. */
  acquire(key: string, owner: string, leaseMs: number): Promise<number>;
  /**
   * Write the token only if `fence` is still the newest (a slow holder never overwrites a
   * newer token), clear the backoff and the fleet's failure count, release our lease,
   * announce the fingerprint. Resolves false when fenced out.
   */
  publish(
    key: string,
    owner: string,
    fence: number,
    token: StoredToken,
    ttlMs: number,
  ): Promise<boolean>;
  /** Delete the token only if its fingerprint matches. */
  invalidate(key: string, fingerprint: string): Promise<InvalidationResult>;
  /** Compare-and-delete of the lease. */
  release(key: string, owner: string): Promise<void>;
  /**
   * A token request failed: count one more consecutive failure for the fleet, start the
   * fleet-wide backoff that `policy` gives for that count (`backoffDurationMs`),
   * and release our lease, all in one step. The count outlives the backoff by
   * `policy.maxMs`, so the next lease holder continues the sequence; a publish resets it.
   */
  backoff(
    key: string,
    owner: string,
    reason: string,
    policy: BackoffPolicy,
  ): Promise<BackoffApplied>;
  /**
   * Reconciliation after an outage: store `token` unless the stored token expires at least
   * as late (its remaining time ≥ `ttlMs`), in one atomic step, and announce it when stored.
   * Resolves undefined when ours was stored, else the stored token to adopt. So the fleet
   * keeps the token that lives longest, never an older one the store kept through the outage.
   */
  offer(
    key: string,
    token: StoredToken,
    ttlMs: number,
  ): Promise<{ token: StoredToken; ttlMs: number } | undefined>;
  /** Cheap liveness check. */
  ping(): Promise<void>;
  /**
   * Listen for "a connection of the store is ready (again)", e.g. Redis reconnected: a hint
   * that an outage may be over (the store guard probes at once) and that announcements may
   * have been missed meanwhile. Best effort; the memory store, which has no connection,
   * never calls it.
   */
  onReconnect(listener: () => void): () => void;
  /** Listen for "a new token was published" hints. Best effort; never relied upon. */
  subscribe(key: string, listener: (fingerprint: string) => void): () => void;
  /** Count one user (a `clientCredentials` authorization). */
  attach(): void;
  /** Drop one user; the last one closes connections the store opened itself. */
  detach(): Promise<void>;
}

import type { CooldownSource } from '../../pipeline/events.js';

/**
 * Where a fleet shares server-driven pauses: the contract the cooldown strategy publishes
 * through. Two implementations: {@link memoryCooldownStore} (one process) and the Redis token
 * store of `@steadfast/redis` (the whole fleet: a key per paused scope, pub/sub to tell
 * every instance within milliseconds, `SET NX` for the single probe after a pause).
 */

/** A pause started or ended somewhere in the fleet (this instance included). */
export interface CooldownNotice {
  readonly scope: string;
  readonly change: 'started' | 'ended';
  /** `started`: ms left of the pause, as the publisher saw it. */
  readonly remainingMs: number;
  /** `started`: the header that started it. */
  readonly source: CooldownSource;
}

/** A store of fleet-wide pauses. Scopes are namespaced (`namespace`: one API's cooldowns). */
export interface CooldownStore {
  /** `memory` or `redis`. */
  readonly kind: string;
  /** Upper bound of one operation (ms); `Infinity` for memory. */
  readonly operationTimeoutMs: number;
  /**
   * Pause `scope` for `ms`, unless a pause that ends later is already on, and tell every
   * instance watching `namespace`.
   */
  pause(namespace: string, scope: string, ms: number, source: CooldownSource): Promise<void>;
  /**
   * Claim the one probe after a pause: true for the first instance to ask; the claim lapses
   * after `leaseMs` (a probe that never reports back).
   */
  claimProbe(namespace: string, scope: string, owner: string, leaseMs: number): Promise<boolean>;
  /** The probe was answered without a new pause: end the pause for every instance. */
  resume(namespace: string, scope: string): Promise<void>;
  /** Notices of `namespace` from every instance. Best effort (pub/sub on Redis). */
  watch(namespace: string, listener: (notice: CooldownNotice) => void): () => void;
  attach(): void;
  detach(): Promise<void>;
}

/** True for an object that can share cooldowns (a memory or Redis store). */
export function isCooldownStore(value: unknown): value is CooldownStore {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as CooldownStore).pause === 'function' &&
    typeof (value as CooldownStore).claimProbe === 'function' &&
    typeof (value as CooldownStore).resume === 'function' &&
    typeof (value as CooldownStore).watch === 'function'
  );
}

import { optionsObject, parseOptions } from '../../config/schema.js';
import { type BackoffApplied, type BackoffPolicy, backoffDurationMs } from './backoff-policy.js';
import type { InvalidationResult, StoredToken, StoreReadResult, TokenStore } from './types.js';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * The default store: one process, no I/O. Same semantics as the Redis store (leases,
 * fences, compare-and-delete, backoff), so the token manager has one code path.
 */
class MemoryTokenStore implements TokenStore {
  readonly kind = 'memory';
  readonly operationTimeoutMs = Number.POSITIVE_INFINITY;
  /** Records never leave the process: a DPoP key may travel with its token. */
  readonly confidential = true;
  readonly #tokens = new Map<string, Expiring<StoredToken>>();
  readonly #leases = new Map<string, Expiring<string>>();
  readonly #fences = new Map<string, number>();
  readonly #backoffs = new Map<string, Expiring<string>>();
  /** Consecutive token-endpoint failures per key (the backoff step). */
  readonly #failures = new Map<string, Expiring<number>>();
  readonly #listeners = new Map<string, Set<(fingerprint: string) => void>>();

  #live<T>(map: Map<string, Expiring<T>>, key: string): Expiring<T> | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= performance.now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  async read(key: string): Promise<StoreReadResult> {
    const now = performance.now();
    const token = this.#live(this.#tokens, key);
    const backoff = this.#live(this.#backoffs, key);
    return {
      token: token?.value,
      ttlMs: token ? token.expiresAt - now : 0,
      backoffMs: backoff ? backoff.expiresAt - now : 0,
      backoffReason: backoff?.value,
    };
  }

  async acquire(key: string, owner: string, leaseMs: number): Promise<number> {
    if (this.#live(this.#leases, key)) return 0;
    this.#leases.set(key, { value: owner, expiresAt: performance.now() + leaseMs });
    const fence = (this.#fences.get(key) ?? 0) + 1;
    this.#fences.set(key, fence);
    return fence;
  }

  async publish(
    key: string,
    owner: string,
    fence: number,
    token: StoredToken,
    ttlMs: number,
  ): Promise<boolean> {
    if ((this.#fences.get(key) ?? 0) !== fence) return false;
    this.#tokens.set(key, { value: token, expiresAt: performance.now() + ttlMs });
    this.#backoffs.delete(key);
    this.#failures.delete(key);
    await this.release(key, owner);
    for (const listener of this.#listeners.get(key) ?? []) listener(token.fingerprint);
    return true;
  }

  async invalidate(key: string, fingerprint: string): Promise<InvalidationResult> {
    const token = this.#live(this.#tokens, key);
    if (!token) return 'absent';
    if (token.value.fingerprint !== fingerprint) return 'newer_present';
    this.#tokens.delete(key);
    return 'deleted';
  }

  async release(key: string, owner: string): Promise<void> {
    if (this.#live(this.#leases, key)?.value === owner) this.#leases.delete(key);
  }

  async backoff(
    key: string,
    owner: string,
    reason: string,
    policy: BackoffPolicy,
  ): Promise<BackoffApplied> {
    const now = performance.now();
    const failures = (this.#live(this.#failures, key)?.value ?? 0) + 1;
    const durationMs = backoffDurationMs(policy, failures);
    this.#backoffs.set(key, { value: reason, expiresAt: now + durationMs });
    this.#failures.set(key, { value: failures, expiresAt: now + durationMs + policy.maxMs });
    await this.release(key, owner);
    return { failures, durationMs };
  }

  async offer(
    key: string,
    token: StoredToken,
    ttlMs: number,
  ): Promise<{ token: StoredToken; ttlMs: number } | undefined> {
    const now = performance.now();
    const existing = this.#live(this.#tokens, key);
    if (existing && existing.expiresAt - now >= ttlMs) {
      return { token: existing.value, ttlMs: existing.expiresAt - now };
    }
    this.#tokens.set(key, { value: token, expiresAt: now + ttlMs });
    for (const listener of this.#listeners.get(key) ?? []) listener(token.fingerprint);
    return undefined;
  }

  async ping(): Promise<void> {}

  onReconnect(): () => void {
    return () => {};
  }

  subscribe(key: string, listener: (fingerprint: string) => void): () => void {
    let set = this.#listeners.get(key);
    if (!set) {
      set = new Set();
      this.#listeners.set(key, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  attach(): void {}
  async detach(): Promise<void> {}
}

const MEMORY_STORE_OPTIONS = optionsObject(
  'MemoryTokenStoreOptions',
  'Options of {@link memoryTokenStore}: none yet.',
  {},
);

/** Options of {@link memoryTokenStore}: none yet. */
export type MemoryTokenStoreOptions = Readonly<Record<string, never>>;

/**
 * The in-memory token store, the default of `clientCredentials`: the token is shared by
 * every client of this process, never across processes. Use {@link redisTokenStore} to
 * share one token across a fleet.
 *
 * Takes no options; `undefined` or `{}` only (anything else throws
 * `InvalidConfigurationError`).
 *
 * @example
 * const auth = clientCredentials({ tokenUrl, clientId, clientSecret, store: memoryTokenStore() });
 */
export function memoryTokenStore(options?: MemoryTokenStoreOptions): TokenStore {
  // No options today: validated like every factory's, so a misplaced option (say a
  // `keyPrefix` meant for redisTokenStore) fails instead of being ignored.
  if (options !== undefined) parseOptions(MEMORY_STORE_OPTIONS, options);
  return new MemoryTokenStore();
}

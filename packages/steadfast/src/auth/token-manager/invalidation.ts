import type { InvalidationResult } from '../store/types.js';
import type { LocalCache } from './local-cache.js';
import type { StoreGuard } from './store-guard.js';
import type { TokenManagerConfig } from './types.js';

/**
 * How long an invalidation's outcome is shared with later 401s for the same token: longer
 * than a call's default total timeout (30 s), so every call that was carrying the token when
 * it was rejected has had its 401 by then.
 */
const REMEMBER_MS = 60_000;
/** Fingerprints remembered at most; a process rarely sees more than one or two at a time. */
const REMEMBER_MAX = 64;

/**
 * The 401 path of one manager: a 401 for a token this process already replaced is absorbed
 * with no I/O; otherwise L1 drops the token and the store deletes it only if it still holds
 * exactly that one (compare-and-delete by fingerprint).
 *
 * One store invalidation per rejected token and process: 401s for a fingerprint share the
 * invalidation in progress and, for a while after it, its outcome. In a 401 storm the calls
 * still in flight with the old token keep getting 401s while the new one is fetched, and
 * each of them would otherwise cost a store round trip that finds nothing. Bounded in size
 * and time; nothing here holds a token, only fingerprints.
 */
export class Invalidations {
  readonly #config: TokenManagerConfig;
  readonly #guard: StoreGuard;
  readonly #cache: LocalCache;
  readonly #pending = new Map<string, Promise<InvalidationResult>>();
  /** Outcomes the store gave, oldest first (a Map keeps insertion order). */
  readonly #done = new Map<string, { readonly result: InvalidationResult; readonly at: number }>();

  constructor(config: TokenManagerConfig, guard: StoreGuard, cache: LocalCache) {
    this.#config = config;
    this.#guard = guard;
    this.#cache = cache;
  }

  /** A 401 rejected the token with this fingerprint. */
  invalidate(fingerprint: string): Promise<InvalidationResult> {
    const current = this.#cache.token;
    if (current !== undefined && current.fingerprint !== fingerprint) {
      // This process already moved on: a stale 401, absorbed without any I/O.
      this.#emit('newer_present', fingerprint);
      return Promise.resolve('newer_present');
    }
    if (current !== undefined) this.#cache.clear();
    const shared = this.#shared(fingerprint);
    if (shared) return shared;
    const invalidation = this.#guard
      .run((store) => store.invalidate(this.#config.key, fingerprint))
      .then(
        (result) => ({ result, fromStore: true }),
        // Store down: L1 is all there is, and it is gone.
        () => ({ result: 'deleted' as const, fromStore: false }),
      )
      .then((outcome) => {
        this.#emit(outcome.result, fingerprint);
        return outcome;
      });
    return this.#start(fingerprint, invalidation);
  }

  /** The store handed this token out again: a 401 for it must reach the store again. */
  forget(fingerprint: string): void {
    this.#done.delete(fingerprint);
  }

  /** The invalidation of `fingerprint` in progress or recently done, if any. */
  #shared(fingerprint: string): Promise<InvalidationResult> | undefined {
    const pending = this.#pending.get(fingerprint);
    if (pending) return pending;
    const done = this.#done.get(fingerprint);
    if (done === undefined) return undefined;
    if (this.#config.clock.now() - done.at > REMEMBER_MS) {
      this.#done.delete(fingerprint);
      return undefined;
    }
    return Promise.resolve(done.result);
  }

  /**
   * Share `invalidation` with the 401s that follow. Only a store's answer is remembered
   * (while the store is down nothing is asked of it anyway, and once it is back the token
   * must be invalidated there).
   */
  #start(
    fingerprint: string,
    invalidation: Promise<{ readonly result: InvalidationResult; readonly fromStore: boolean }>,
  ): Promise<InvalidationResult> {
    const shared = invalidation
      .then(({ result, fromStore }) => {
        if (fromStore) this.#remember(fingerprint, result);
        return result;
      })
      .finally(() => this.#pending.delete(fingerprint));
    this.#pending.set(fingerprint, shared);
    return shared;
  }

  #remember(fingerprint: string, result: InvalidationResult): void {
    this.#done.delete(fingerprint);
    this.#done.set(fingerprint, { result, at: this.#config.clock.now() });
    if (this.#done.size > REMEMBER_MAX) {
      const oldest = this.#done.keys().next().value;
      if (oldest !== undefined) this.#done.delete(oldest);
    }
  }

  #emit(result: InvalidationResult, rejectedFingerprint: string): void {
    this.#config.events.invalidation.emit({
      credential: this.#config.credential,
      result,
      rejectedFingerprint,
    });
  }
}

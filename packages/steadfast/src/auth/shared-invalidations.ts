import type { InvalidationResult } from './store/types.js';

/**
 * How long an invalidation's outcome is shared with later 401s for the same token: longer
 * than a call's default total timeout (30 s), so every call that was carrying the token when
 * it was rejected has had its 401 by then.
 */
const REMEMBER_MS = 60_000;
/** Fingerprints remembered at most; a process rarely sees more than one or two at a time. */
const REMEMBER_MAX = 64;

/**
 * One store invalidation per rejected token and process. 401s for a fingerprint share the
 * invalidation in progress and, for a while after it, its outcome: in a 401 storm the calls
 * still in flight with the old token keep getting 401s while the new one is fetched, and
 * each of them would otherwise cost a store round trip that finds nothing. Bounded in size
 * and time; nothing here holds a token, only fingerprints.
 */
export class SharedInvalidations {
  readonly #pending = new Map<string, Promise<InvalidationResult>>();
  /** Outcomes the store gave, oldest first (a Map keeps insertion order). */
  readonly #done = new Map<string, { readonly result: InvalidationResult; readonly at: number }>();

  /** The invalidation of `fingerprint` in progress or recently done, if any. */
  shared(fingerprint: string): Promise<InvalidationResult> | undefined {
    const pending = this.#pending.get(fingerprint);
    if (pending) return pending;
    const done = this.#done.get(fingerprint);
    if (done === undefined) return undefined;
    if (performance.now() - done.at > REMEMBER_MS) {
      this.#done.delete(fingerprint);
      return undefined;
    }
    return Promise.resolve(done.result);
  }

  /**
   * Share `invalidation` with the 401s that follow. It resolves the outcome and whether the
   * store gave it: only a store's answer is remembered (while the store is down nothing is
   * asked of it anyway, and once it is back the token must be invalidated there).
   */
  start(
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

  /** The store handed this token out again: a 401 for it must reach the store again. */
  forget(fingerprint: string): void {
    this.#done.delete(fingerprint);
  }

  #remember(fingerprint: string, result: InvalidationResult): void {
    this.#done.delete(fingerprint);
    this.#done.set(fingerprint, { result, at: performance.now() });
    if (this.#done.size > REMEMBER_MAX) {
      const oldest = this.#done.keys().next().value;
      if (oldest !== undefined) this.#done.delete(oldest);
    }
  }
}

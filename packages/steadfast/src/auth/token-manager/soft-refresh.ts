import type { StoreReadResult } from '../store/types.js';
import type { BackgroundTask } from './background.js';
import type { TokenFetch } from './token-fetch.js';
import type { LocalToken, ManagerParts } from './types.js';

const SOFT_RETRY_MS = 1000; // between two background-refresh checks of one instance (± 50 %)

/**
 * L1 is in the soft window: calls keep sending it while one background check adopts a
 * longer-lived token from the store or, as the fleet's one lease holder, fetches a new one.
 * Lease losers keep serving the current token; a later check adopts the holder's.
 */
export class SoftRefresh {
  readonly #parts: ManagerParts;
  readonly #fetch: TokenFetch;
  readonly #background: BackgroundTask;
  /** `clock.now()` before which no new check starts. */
  #nextCheckAt = 0;

  constructor(parts: ManagerParts, fetch: TokenFetch, background: BackgroundTask) {
    this.#parts = parts;
    this.#fetch = fetch;
    this.#background = background;
  }

  /** From the hot path: start a background check unless one ran recently or we back off. */
  maybeStart(current: LocalToken): void {
    const { clock, random } = this.#parts.config;
    const now = clock.now();
    if (now < this.#nextCheckAt || this.#parts.backoff.active) return;
    if (this.#background.start(() => this.#refresh(current))) {
      this.#nextCheckAt = now + SOFT_RETRY_MS * (0.5 + random());
    }
  }

  /** Let the next soft-window call check at once (a new token is held, or announced). */
  checkNow(): void {
    this.#nextCheckAt = 0;
  }

  async #refresh(current: LocalToken): Promise<void> {
    const { config, guard, backoff, cache, owner } = this.#parts;
    this.#parts.subscribe();
    // While the store is down this refresh is its probe: it runs in the background, so no
    // call waits on the store, and once the store is back the fleet refreshes through one
    // lease holder again instead of each instance alone until the breaker's next probe.
    if (!(await guard.probe())) {
      await this.#fetch.fetch('soft_refresh', 0);
      return;
    }
    if (cache.token !== current) return; // the reconciliation adopted a longer-lived token
    let read: StoreReadResult;
    try {
      read = await guard.run((store) => store.read(config.key));
    } catch {
      await this.#fetch.fetch('soft_refresh', 0);
      return;
    }
    if (cache.token !== current) return; // something else replaced it meanwhile
    if (cache.adoptIfLater(current, read)) return;
    if (read.backoffMs > 0) {
      backoff.fleetBackoff(read.backoffMs, read.backoffReason);
      return;
    }
    let fence = 0;
    try {
      fence = await guard.run((store) => store.acquire(config.key, owner, config.leaseMs));
    } catch {
      await this.#fetch.fetch('soft_refresh', 0);
      return;
    }
    config.events.lease.emit({
      credential: config.credential,
      result: fence > 0 ? 'won' : 'lost',
    });
    if (fence > 0) await this.#fetch.asHolder('soft_refresh', fence, current.fingerprint);
  }
}

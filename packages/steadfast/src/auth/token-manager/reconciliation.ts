import type { StoredToken } from '../store/types.js';
import type { BackgroundTask } from './background.js';
import type { ManagerParts } from './types.js';

/**
 * How an instance converges on the fleet's longest-lived token after it worked alone:
 * when the store answers again it offers the token it fetched meanwhile, and when a hint
 * (an announcement of another token, a reconnection) says the store may hold a longer-lived
 * one, it looks once, in the background.
 */
export class Reconciliation {
  readonly #parts: ManagerParts;
  readonly #background: BackgroundTask;
  /** A hint asked to look for a longer-lived token in the store; the look has not run yet. */
  #lookWanted = false;

  constructor(parts: ManagerParts, background: BackgroundTask) {
    this.#parts = parts;
    this.#background = background;
  }

  /**
   * The store answers again (the guard's probe waits for this). A token this instance
   * fetched alone is offered: the store keeps whichever of ours and its own expires later,
   * atomically, and we adopt its token only when that one lives longer. Adopting an older
   * token, one the store kept through the outage, would make the fleet fetch again at once.
   */
  async reconcile(): Promise<void> {
    const { config, guard, cache } = this.#parts;
    const current = cache.token;
    if (current === undefined || !cache.unpublished) return;
    const ttlMs = current.hardAt - config.clock.now();
    if (ttlMs <= 0) return;
    const record: StoredToken = {
      value: current.value,
      fingerprint: current.fingerprint,
      type: current.type,
      issuedAt: current.issuedAt,
      lifetimeMs: current.lifetimeMs,
      generation: 0,
    };
    const stored = await guard.run((store) => store.offer(config.key, record, ttlMs));
    if (cache.token !== current) return;
    cache.markPublished();
    if (stored !== undefined && stored.token.fingerprint !== current.fingerprint) {
      cache.hold(stored.token, stored.ttlMs, false);
    }
  }

  /**
   * Look once for a token in the store that lives longer than ours, in the background. Busy
   * (a refresh, another look, a flight): it runs as soon as that one ends ({@link resume}).
   */
  lookForLaterToken(): void {
    const { config, guard, cache } = this.#parts;
    const current = cache.token;
    this.#lookWanted = current !== undefined;
    if (current === undefined) return;
    this.#background.start(async () => {
      this.#lookWanted = false;
      // Shares the guard's probe, if any, and runs after its reconciliation. That may have
      // installed another token meanwhile, from an offer answered before the announcement
      // that asked for this look: compare the store's token with whatever is held now.
      if (!(await guard.probe())) return;
      const read = await guard.run((store) => store.read(config.key));
      const held = cache.token;
      if (held !== undefined) cache.adoptIfLater(held, read);
    });
  }

  /** A flight or a background task ended: run the look a hint asked for meanwhile. */
  resume(): void {
    if (this.#lookWanted) this.lookForLaterToken();
  }
}

import { randomUUID } from 'node:crypto';
import { TokenUnavailableError } from '../../errors.js';
import type { FetchTrigger } from '../events.js';
import type { InvalidationResult } from '../store/types.js';
import { BackgroundTask } from './background.js';
import { Invalidations } from './invalidation.js';
import { LocalCache } from './local-cache.js';
import { MissPath } from './miss-path.js';
import { Reconciliation } from './reconciliation.js';
import { SingleFlight } from './single-flight.js';
import { SoftRefresh } from './soft-refresh.js';
import { StoreGuard } from './store-guard.js';
import { TokenBackoff } from './token-backoff.js';
import { TokenFetch } from './token-fetch.js';
import type { LocalToken, ManagerParts, TokenManagerConfig } from './types.js';

/**
 * The token manager of one credential. The read path:
 * 1. L1 fresh → return it (no I/O: {@link peek}).
 * 2. L1 in the soft window → return it, refresh in the background ({@link SoftRefresh}:
 *    one lease holder fleet-wide).
 * 3. L1 missing/expired → one in-process {@link SingleFlight} through the {@link MissPath}:
 *    adopt the store's token, or take the lease and fetch ({@link TokenFetch}), or wait for
 *    the holder's announcement (bounded).
 * A 401 goes through {@link Invalidations}. Failures start a fleet-wide backoff
 * ({@link TokenBackoff}); a down store ({@link StoreGuard}) makes the instance work alone
 * until the {@link Reconciliation} after the outage. Announcements and reconnections of the
 * store are dispatched here, to the parts they concern.
 */
export class TokenManager {
  readonly #config: TokenManagerConfig;
  readonly #guard: StoreGuard;
  readonly #cache: LocalCache;
  readonly #flight = new SingleFlight<LocalToken>();
  readonly #background: BackgroundTask;
  readonly #invalidations: Invalidations;
  readonly #missPath: MissPath;
  readonly #softRefresh: SoftRefresh;
  readonly #reconciliation: Reconciliation;
  #unsubscribe: (() => void) | undefined;
  readonly #stopReconnects: () => void;
  #closed = false;

  constructor(config: TokenManagerConfig) {
    this.#config = config;
    this.#guard = new StoreGuard({
      store: config.store,
      events: config.events,
      credential: config.credential,
      breakMs: config.storeBreakMs,
      clock: config.clock,
      onRecovered: () => this.#reconciliation.reconcile(),
    });
    this.#cache = new LocalCache(config, (fingerprint) => {
      // Whatever we hold may be rejected later; a 401 for it must then reach the store.
      this.#invalidations.forget(fingerprint);
      this.#softRefresh.checkNow();
    });
    const parts: ManagerParts = {
      config,
      owner: randomUUID(),
      guard: this.#guard,
      backoff: new TokenBackoff(config, config.clock, config.random),
      cache: this.#cache,
      subscribe: () => this.#subscribeOnce(),
    };
    this.#invalidations = new Invalidations(config, this.#guard, this.#cache);
    this.#background = new BackgroundTask(
      () => this.#flight.current !== undefined || this.#closed,
      // A hint that came while the task ran must not be lost.
      () => this.#reconciliation.resume(),
    );
    const fetch = new TokenFetch(parts);
    this.#missPath = new MissPath(parts, fetch, () => this.#closed);
    this.#softRefresh = new SoftRefresh(parts, fetch, this.#background);
    this.#reconciliation = new Reconciliation(parts, this.#background);
    this.#stopReconnects = config.store.onReconnect(() => this.#reconnected());
  }

  get credential(): string {
    return this.#config.credential;
  }

  /**
   * The hot path: the L1 token when it may be sent, else `undefined`. No I/O, no promise.
   * In the soft window it also starts the background refresh.
   */
  peek(): LocalToken | undefined {
    const token = this.#cache.token;
    if (token === undefined) return undefined;
    const now = this.#config.clock.now();
    if (now < token.softAt) {
      const events = this.#config.events.cacheLookup;
      if (events.hasListeners) {
        events.emit({ credential: this.#config.credential, level: 'local', result: 'hit' });
      }
      return token;
    }
    if (now < token.hardAt) {
      this.#softRefresh.maybeStart(token);
      return token;
    }
    return undefined;
  }

  /**
   * A token to send. `avoidFingerprint` is a token just rejected with a 401: it is never
   * returned again. `claims` (a claims challenge's JSON) goes with the token request if this
   * instance makes one; a request already under way, here or in the fleet, is joined as is.
   */
  async acquire(avoidFingerprint?: string, claims?: string): Promise<LocalToken> {
    const local = this.peek();
    if (local !== undefined && local.fingerprint !== avoidFingerprint) return local;
    for (let round = 0; round < 2; round++) {
      let flight = this.#flight.current;
      if (flight) {
        this.#config.events.cacheLookup.emit({
          credential: this.#config.credential,
          level: 'local',
          result: 'coalesced',
        });
      } else {
        this.#config.events.cacheLookup.emit({
          credential: this.#config.credential,
          level: 'local',
          result: 'miss',
        });
        const trigger: FetchTrigger =
          claims !== undefined ? 'claims_challenge' : avoidFingerprint ? 'reauthorize' : 'cold';
        flight = this.#flight.start(
          () => this.#missPath.obtain(trigger, avoidFingerprint, claims),
          // A hint that came while this ran (no background look could start) must not be lost.
          () => this.#reconciliation.resume(),
        );
      }
      const token = await flight;
      // A flight started before the 401 may have adopted the rejected token: go once more.
      if (token.fingerprint !== avoidFingerprint) return token;
    }
    throw new TokenUnavailableError(
      this.#config.credential,
      'rejected_token_still_current',
      'the token store still holds the token that was just rejected',
    );
  }

  /**
   * A 401 rejected the token with this fingerprint: forget it locally and delete it from
   * the store only if the store still holds exactly that token. 401s of one process for the
   * same token share one store round trip: concurrent ones, and for a while (see
   * {@link Invalidations}) the ones that arrive after it, while the new token is being
   * fetched or after it is in.
   */
  invalidate(fingerprint: string): Promise<InvalidationResult> {
    return this.#invalidations.invalidate(fingerprint);
  }

  #subscribeOnce(): void {
    if (this.#unsubscribe || this.#closed) return;
    this.#unsubscribe = this.#config.store.subscribe(this.#config.key, (fingerprint) =>
      this.#announced(fingerprint),
    );
  }

  /**
   * Another instance stored a token (published it, or won a reconciliation). Waiters look at
   * once, and the next soft-window check runs at once. If the token is not ours, one
   * background read adopts it when it lives longer than ours: after an outage this is how
   * instances that reconciled early converge on the longest-lived token. The announcement
   * came through the store, so while the store is considered down it also probes it.
   */
  #announced(fingerprint: string): void {
    this.#missPath.wakeWaiters();
    this.#softRefresh.checkNow();
    this.#guard.hint();
    const held = this.#cache.token;
    if (held !== undefined && held.fingerprint !== fingerprint) {
      this.#reconciliation.lookForLaterToken();
    }
  }

  /**
   * A connection of the store is ready again: an outage may be over (probe now rather than
   * at the breaker's next timer), and announcements may have been lost with the
   * subscription, so look once for a longer-lived token than ours.
   */
  #reconnected(): void {
    this.#guard.hint();
    this.#reconciliation.lookForLaterToken();
  }

  /** Stop timers and subscriptions, drop the token. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#guard.close();
    this.#stopReconnects();
    this.#unsubscribe?.();
    this.#missPath.wakeWaiters();
    this.#cache.clear();
  }
}

import { randomUUID } from 'node:crypto';
import { TokenUnavailableError } from '../errors.js';
import { TokenEndpointError } from './errors.js';
import type { FetchTrigger, TokenEvents, TokenFetchStartEvent } from './events.js';
import { tokenFingerprint } from './fingerprint.js';
import { SharedInvalidations } from './shared-invalidations.js';
import type {
  BackoffApplied,
  InvalidationResult,
  StoredToken,
  StoreReadResult,
  TokenStore,
} from './store/types.js';
import { StoreGuard, StoreUnavailable } from './store-guard.js';
import { type RefreshTimingOptions, refreshTiming } from './timing.js';
import { TokenBackoff, type TokenBackoffOptions } from './token-backoff.js';
import type { TokenResponse } from './token-response.js';

/** The token a call sends, as the manager holds it in process (L1). */
export interface LocalToken {
  readonly value: string;
  readonly fingerprint: string;
  /** `Bearer`. */
  readonly type: string;
  /** Unix epoch ms when the token request was sent. */
  readonly issuedAt: number;
  readonly lifetimeMs: number;
  /** `performance.now()` after which the token is refreshed in the background. */
  readonly softAt: number;
  /** `performance.now()` after which the token is never sent (expiry minus the hard skew). */
  readonly hardAt: number;
}

/** Everything the manager needs; built and validated by `clientCredentials`. */
export interface TokenManagerConfig extends TokenBackoffOptions {
  /** The credential key `k` (see `credentialKey`). */
  readonly key: string;
  readonly store: TokenStore;
  readonly events: TokenEvents;
  /** One token-endpoint request. Throws `TokenEndpointError`. */
  readonly fetchToken: () => Promise<TokenResponse>;
  readonly timing: RefreshTimingOptions;
  /** Refresh lease (ms); longer than the token-endpoint timeout. */
  readonly leaseMs: number;
  /** How long the store stays "down" after a failure before a probe (ms). */
  readonly storeBreakMs: number;
}

const POLL_FIRST_MS = 20; // waiters poll the store at 20, 40, 80 … ms
const POLL_MAX_MS = 200;
const SOFT_RETRY_MS = 1000; // between two background-refresh checks of one instance
const SOFT_JITTER_RATIO = 0.1; // each instance enters the soft window up to 10 % later

/**
 * The token manager of one credential. The read path:
 * 1. L1 fresh → return it (no I/O: {@link peek}).
 * 2. L1 in the soft window → return it, refresh in the background (one lease holder fleet-wide).
 * 3. L1 missing/expired → one in-process single flight: adopt the store's token, or take the
 *    lease and fetch, or wait for the holder's announcement (bounded).
 * Failures start a fleet-wide backoff; a down store makes the instance work alone.
 */
export class TokenManager {
  readonly #config: TokenManagerConfig;
  readonly #guard: StoreGuard;
  readonly #backoff: TokenBackoff;
  readonly #owner = randomUUID();
  #l1: LocalToken | undefined;
  /** True when L1 came from the token endpoint while the store was down (offer it later). */
  #l1Unpublished = false;
  #flight: Promise<LocalToken> | undefined;
  #background: Promise<void> | undefined;
  /** A hint (an announcement, a reconnection) asked to look for a longer-lived token in the store. */
  #laterTokenWanted = false;
  #nextSoftCheckAt = 0;
  readonly #invalidations = new SharedInvalidations();
  readonly #wakers = new Set<() => void>();
  #unsubscribe: (() => void) | undefined;
  readonly #stopReconnects: () => void;
  #closed = false;

  constructor(config: TokenManagerConfig) {
    this.#config = config;
    this.#backoff = new TokenBackoff(config);
    this.#guard = new StoreGuard({
      store: config.store,
      events: config.events,
      credential: config.credential,
      breakMs: config.storeBreakMs,
      onRecovered: () => this.#reconcile(),
    });
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
    const token = this.#l1;
    if (token === undefined) return undefined;
    const now = performance.now();
    if (now < token.softAt) {
      const events = this.#config.events.cacheLookup;
      if (events.hasListeners) {
        events.emit({ credential: this.#config.credential, level: 'local', result: 'hit' });
      }
      return token;
    }
    if (now < token.hardAt) {
      this.#refreshInBackground(token);
      return token;
    }
    return undefined;
  }

  /**
   * A token to send. `avoidFingerprint` is a token just rejected with a 401: it is never
   * returned again.
   */
  async acquire(avoidFingerprint?: string): Promise<LocalToken> {
    const local = this.peek();
    if (local !== undefined && local.fingerprint !== avoidFingerprint) return local;
    for (let round = 0; round < 2; round++) {
      let flight = this.#flight;
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
        const trigger: FetchTrigger = avoidFingerprint ? 'reauthorize' : 'cold';
        flight = this.#obtain(trigger, avoidFingerprint).finally(() => {
          if (this.#flight === flight) this.#flight = undefined;
          // A hint that came while this ran (no background look could start) must not be lost.
          if (this.#laterTokenWanted) this.#lookForLaterToken();
        });
        this.#flight = flight;
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
   * {@link SharedInvalidations}) the ones that arrive after it, while the new token is being
   * fetched or after it is in.
   */
  invalidate(fingerprint: string): Promise<InvalidationResult> {
    const current = this.#l1;
    if (current !== undefined && current.fingerprint !== fingerprint) {
      // This process already moved on: a stale 401, absorbed without any I/O.
      this.#emitInvalidation('newer_present', fingerprint);
      return Promise.resolve('newer_present');
    }
    if (current !== undefined) this.#l1 = undefined;
    const shared = this.#invalidations.shared(fingerprint);
    if (shared) return shared;
    const invalidation = this.#guard
      .run((store) => store.invalidate(this.#config.key, fingerprint))
      .then(
        (result) => ({ result, fromStore: true }),
        // Store down: L1 is all there is, and it is gone.
        () => ({ result: 'deleted' as const, fromStore: false }),
      )
      .then((outcome) => {
        this.#emitInvalidation(outcome.result, fingerprint);
        return outcome;
      });
    return this.#invalidations.start(fingerprint, invalidation);
  }

  #emitInvalidation(result: InvalidationResult, rejectedFingerprint: string): void {
    this.#config.events.invalidation.emit({
      credential: this.#config.credential,
      result,
      rejectedFingerprint,
    });
  }

  // ── miss path ────────────────────────────────────────────────────────────

  async #obtain(trigger: FetchTrigger, avoid: string | undefined): Promise<LocalToken> {
    this.#subscribeOnce();
    this.#backoff.throwIfActive();
    let read: StoreReadResult;
    try {
      read = await this.#guard.run((store) => store.read(this.#config.key));
    } catch (error) {
      if (error instanceof StoreUnavailable) return this.#fetch(trigger, 0);
      throw error;
    }
    const usable = this.#usable(read, avoid);
    this.#config.events.cacheLookup.emit({
      credential: this.#config.credential,
      level: 'store',
      result: usable ? 'hit' : 'miss',
    });
    if (usable) return this.#install(read.token!, read.ttlMs, false);
    if (read.backoffMs > 0) throw this.#fleetBackoff(read);
    return this.#leaseOrWait(trigger, avoid);
  }

  async #leaseOrWait(trigger: FetchTrigger, avoid: string | undefined): Promise<LocalToken> {
    // A holder that died is noticed when its lease expires; wait a little longer than that.
    const giveUpAt = performance.now() + this.#config.leaseMs + 1000;
    let delayMs = POLL_FIRST_MS;
    for (;;) {
      let fence: number;
      try {
        fence = await this.#guard.run((store) =>
          store.acquire(this.#config.key, this.#owner, this.#config.leaseMs),
        );
      } catch {
        return this.#fetch(trigger, 0);
      }
      this.#config.events.lease.emit({
        credential: this.#config.credential,
        result: fence > 0 ? 'won' : 'lost',
      });
      if (fence > 0) return this.#fetchAsHolder(trigger, fence, avoid);

      for (let polls = 0; polls < 4; polls++) {
        await this.#waitForAnnouncement(delayMs * (0.5 + Math.random() / 2));
        delayMs = Math.min(delayMs * 2, POLL_MAX_MS);
        let read: StoreReadResult;
        try {
          read = await this.#guard.run((store) => store.read(this.#config.key));
        } catch {
          return this.#fetch(trigger, 0);
        }
        if (this.#usable(read, avoid)) return this.#install(read.token!, read.ttlMs, false);
        if (read.backoffMs > 0) throw this.#fleetBackoff(read);
        if (this.#closed) throw this.#unavailable('closed', 'the authorization was closed');
      }
      if (performance.now() > giveUpAt) {
        throw this.#unavailable(
          'lease_wait_timeout',
          'another instance holds the refresh lease but published no token in time',
        );
      }
    }
  }

  async #fetchAsHolder(
    trigger: FetchTrigger,
    fence: number,
    avoid: string | undefined,
  ): Promise<LocalToken> {
    // Double-check: the previous holder may have published a token, or failed and started
    // a backoff, between our read and our lease.
    let read: StoreReadResult | undefined;
    try {
      read = await this.#guard.run((store) => store.read(this.#config.key));
    } catch {
      // Store gone mid-way: fetch anyway, keep the token locally.
    }
    if (read !== undefined) {
      const fresh = this.#usable(read, avoid) && read.ttlMs > this.#softWindowOf(read.token!);
      if (fresh || read.backoffMs > 0) {
        await this.#guard
          .run((store) => store.release(this.#config.key, this.#owner))
          .catch(() => {});
        if (fresh) return this.#install(read.token!, read.ttlMs, false);
        throw this.#fleetBackoff(read);
      }
    }
    return this.#fetch(trigger, fence);
  }

  /** Call the token endpoint. `fence` 0 = the store is not involved (down, or local mode). */
  async #fetch(trigger: FetchTrigger, fence: number): Promise<LocalToken> {
    this.#backoff.throwIfActive();
    const { events, credential } = this.#config;
    const start: TokenFetchStartEvent = { credential, trigger };
    events.fetchStart.emit(start);
    const startedAt = performance.now();
    const issuedAt = Date.now();
    let response: TokenResponse;
    try {
      response = await this.#requestToken(start);
    } catch (error) {
      const failure =
        error instanceof TokenEndpointError
          ? error
          : new TokenEndpointError({
              errorType: '_OTHER',
              kind: 'retryable',
              detail: 'token request failed',
            });
      events.fetchEnd.emit({
        credential,
        trigger,
        result: 'failure',
        errorType: failure.errorType,
        durationMs: performance.now() - startedAt,
        fingerprint: undefined,
      });
      throw await this.#backOff(failure, fence > 0);
    }
    const elapsed = performance.now() - startedAt;
    const fingerprint = tokenFingerprint(response.accessToken);
    const timing = refreshTiming(response.lifetimeMs, this.#config.timing);
    // Count the lifetime from when the request was sent: the token aged while it travelled.
    const ttlMs = response.lifetimeMs - elapsed - timing.hardSkewMs;
    if (ttlMs <= 0) {
      const failure = new TokenEndpointError({
        errorType: 'malformed_response',
        kind: 'malformed_response',
        detail: `the token's lifetime of ${Math.round(response.lifetimeMs)} ms is used up before it can be sent`,
      });
      events.fetchEnd.emit({
        credential,
        trigger,
        result: 'failure',
        errorType: failure.errorType,
        durationMs: elapsed,
        fingerprint: undefined,
      });
      throw await this.#backOff(failure, fence > 0);
    }
    this.#backoff.succeeded();
    events.fetchEnd.emit({
      credential,
      trigger,
      result: 'success',
      errorType: undefined,
      durationMs: elapsed,
      fingerprint,
    });
    const record: StoredToken = {
      value: response.accessToken,
      fingerprint,
      type: response.tokenType,
      issuedAt,
      lifetimeMs: response.lifetimeMs,
      generation: fence,
    };
    let published = false;
    if (fence > 0) {
      published = await this.#guard
        .run((store) => store.publish(this.#config.key, this.#owner, fence, record, ttlMs))
        .catch(() => false);
    }
    return this.#install(record, ttlMs, fence === 0 || !published);
  }

  /** `fetchToken`, inside the scopes telemetry may have registered (none: a plain call). */
  async #requestToken(start: TokenFetchStartEvent): Promise<TokenResponse> {
    const { events, fetchToken } = this.#config;
    // The scope handler sees the event only; the response stays here.
    let response: TokenResponse | undefined;
    await events.fetchScope.run(start, async () => {
      response = await fetchToken();
    });
    return response!;
  }

  /**
   * Start the backoff and return the caller's error. The lease holder counts the failure
   * in the store, which sets the fleet-wide backoff for the fleet's count of consecutive
   * failures: whoever holds the lease next continues the sequence. Without the store the
   * count is this instance's own.
   */
  async #backOff(failure: TokenEndpointError, holder: boolean): Promise<TokenUnavailableError> {
    const policy = this.#backoff.policyFor(failure);
    let applied: BackoffApplied | undefined;
    if (holder) {
      applied = await this.#guard
        .run((store) => store.backoff(this.#config.key, this.#owner, failure.errorType, policy))
        .catch(() => undefined);
    }
    return this.#backoff.failed(failure, policy, applied);
  }

  #fleetBackoff(read: StoreReadResult): TokenUnavailableError {
    return this.#backoff.fleetBackoff(read.backoffMs, read.backoffReason);
  }

  #unavailable(reason: string, detail: string): TokenUnavailableError {
    return new TokenUnavailableError(this.#config.credential, reason, detail);
  }

  #usable(read: StoreReadResult, avoid: string | undefined): boolean {
    return read.token !== undefined && read.ttlMs > 0 && read.token.fingerprint !== avoid;
  }

  #softWindowOf(token: StoredToken): number {
    return refreshTiming(token.lifetimeMs, this.#config.timing).softWindowMs;
  }

  #install(token: StoredToken, ttlMs: number, unpublished: boolean): LocalToken {
    const now = performance.now();
    const softWindowMs = this.#softWindowOf(token);
    const hardAt = now + ttlMs;
    // A little random spread per instance, so the fleet does not stampede the lease.
    const softAt = hardAt - softWindowMs * (1 - SOFT_JITTER_RATIO * Math.random());
    const local: LocalToken = {
      value: token.value,
      fingerprint: token.fingerprint,
      type: token.type,
      issuedAt: token.issuedAt,
      lifetimeMs: token.lifetimeMs,
      softAt,
      hardAt,
    };
    this.#l1 = local;
    this.#l1Unpublished = unpublished;
    // A pending look (#laterTokenWanted) stays pending: this token may come from a store
    // answer older than the announcement that asked for the look.
    // Whatever we install may be rejected later; a 401 for it must then reach the store.
    this.#invalidations.forget(token.fingerprint);
    this.#nextSoftCheckAt = 0;
    this.#config.events.tokenInUse.emit({
      credential: this.#config.credential,
      fingerprint: token.fingerprint,
      expiresAtMs: Date.now() + ttlMs,
    });
    return local;
  }

  // ── soft window ──────────────────────────────────────────────────────────

  #refreshInBackground(current: LocalToken): void {
    const now = performance.now();
    if (now < this.#nextSoftCheckAt || this.#backoff.active) return;
    if (this.#startBackground(() => this.#softRefresh(current))) {
      this.#nextSoftCheckAt = now + SOFT_RETRY_MS * (0.5 + Math.random());
    }
  }

  /** Run `task` as this instance's one background store check, unless one is running. */
  #startBackground(task: () => Promise<void>): boolean {
    if (this.#background || this.#flight || this.#closed) return false;
    this.#background = task()
      .catch(() => {}) // reported through fetchEnd; the current token keeps serving
      .finally(() => {
        this.#background = undefined;
        // A hint that came while this ran must not be lost: look now.
        if (this.#laterTokenWanted) this.#lookForLaterToken();
      });
    return true;
  }

  async #softRefresh(current: LocalToken): Promise<void> {
    this.#subscribeOnce();
    // While the store is down this refresh is its probe: it runs in the background, so no
    // call waits on the store, and once the store is back the fleet refreshes through one
    // lease holder again instead of each instance alone until the breaker's next probe.
    if (!(await this.#guard.probe())) {
      await this.#fetch('soft_refresh', 0);
      return;
    }
    if (this.#l1 !== current) return; // the reconciliation adopted a longer-lived token
    let read: StoreReadResult;
    try {
      read = await this.#guard.run((store) => store.read(this.#config.key));
    } catch {
      await this.#fetch('soft_refresh', 0);
      return;
    }
    if (this.#l1 !== current) return; // something else replaced it meanwhile
    if (this.#adoptIfLater(current, read)) return;
    if (read.backoffMs > 0) {
      this.#fleetBackoff(read);
      return;
    }
    let fence = 0;
    try {
      fence = await this.#guard.run((store) =>
        store.acquire(this.#config.key, this.#owner, this.#config.leaseMs),
      );
    } catch {
      await this.#fetch('soft_refresh', 0);
      return;
    }
    this.#config.events.lease.emit({
      credential: this.#config.credential,
      result: fence > 0 ? 'won' : 'lost',
    });
    // Losers keep serving the current token; the next check adopts the holder's token.
    if (fence > 0) await this.#fetchAsHolder('soft_refresh', fence, current.fingerprint);
  }

  /** Install the store's token if it is another one and lives longer than `current`. */
  #adoptIfLater(current: LocalToken, read: StoreReadResult): boolean {
    const remaining = current.hardAt - performance.now();
    if (!this.#usable(read, current.fingerprint) || read.ttlMs <= remaining) return false;
    this.#config.events.cacheLookup.emit({
      credential: this.#config.credential,
      level: 'store',
      result: 'hit',
    });
    this.#install(read.token!, read.ttlMs, false);
    return true;
  }

  // ── store recovery and hints ─────────────────────────────────────────────

  /**
   * The store answers again (the guard's probe waits for this). A token this instance
   * fetched alone is offered: the store keeps whichever of ours and its own expires later,
   * atomically, and we adopt its token only when that one lives longer. Adopting an older
   * token, one the store kept through the outage, would make the fleet fetch again at once.
   */
  async #reconcile(): Promise<void> {
    const current = this.#l1;
    if (current === undefined || !this.#l1Unpublished) return;
    const ttlMs = current.hardAt - performance.now();
    if (ttlMs <= 0) return;
    const record: StoredToken = {
      value: current.value,
      fingerprint: current.fingerprint,
      type: current.type,
      issuedAt: current.issuedAt,
      lifetimeMs: current.lifetimeMs,
      generation: 0,
    };
    const stored = await this.#guard.run((store) => store.offer(this.#config.key, record, ttlMs));
    if (this.#l1 !== current) return;
    this.#l1Unpublished = false;
    if (stored !== undefined && stored.token.fingerprint !== current.fingerprint) {
      this.#install(stored.token, stored.ttlMs, false);
    }
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
    for (const wake of this.#wakers) wake();
    this.#nextSoftCheckAt = 0;
    this.#guard.hint();
    if (this.#l1 !== undefined && this.#l1.fingerprint !== fingerprint) this.#lookForLaterToken();
  }

  /**
   * A connection of the store is ready again: an outage may be over (probe now rather than
   * at the breaker's next timer), and announcements may have been lost with the
   * subscription, so look once for a longer-lived token than ours.
   */
  #reconnected(): void {
    this.#guard.hint();
    this.#lookForLaterToken();
  }

  #lookForLaterToken(): void {
    const current = this.#l1;
    this.#laterTokenWanted = current !== undefined;
    if (current === undefined) return;
    // Busy (a refresh, another look): the flag makes it run as soon as that one ends.
    this.#startBackground(async () => {
      this.#laterTokenWanted = false;
      // Shares the guard's probe, if any, and runs after its reconciliation. That may have
      // installed another token meanwhile, from an offer answered before the announcement
      // that asked for this look: compare the store's token with whatever is held now.
      if (!(await this.#guard.probe())) return;
      const read = await this.#guard.run((store) => store.read(this.#config.key));
      const held = this.#l1;
      if (held !== undefined) this.#adoptIfLater(held, read);
    });
  }

  #waitForAnnouncement(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
    });
  }

  /** Stop timers and subscriptions, drop the token. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#guard.close();
    this.#stopReconnects();
    this.#unsubscribe?.();
    for (const wake of this.#wakers) wake();
    this.#l1 = undefined;
  }
}

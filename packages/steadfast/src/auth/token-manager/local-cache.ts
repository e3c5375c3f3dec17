import type { StoredToken, StoreReadResult } from '../store/types.js';
import { refreshTiming } from './timing.js';
import type { LocalToken, TokenManagerConfig } from './types.js';

const SOFT_JITTER_RATIO = 0.1; // each instance enters the soft window up to 10 % later
/**
 * Two tokens whose expiries are this close are the same age for {@link LocalCache.adoptIfLater}
 * (5 % of the lifetime, at most 1 s), and the store's one wins. After an outage every
 * instance fetches alone at about the same moment, so the fleet's tokens expire within
 * milliseconds of each other; compared exactly, each instance's view (its clock, the
 * store's TTL rounded and read a round trip late) could rank them differently and the fleet
 * would keep two tokens. Deferring to the store makes the ranking the store's alone.
 */
const SAME_AGE_RATIO = 0.05;
const SAME_AGE_MAX_MS = 1000;

/** A store read whose token this instance may hold: present, unexpired, not the rejected one. */
export function usable(
  read: StoreReadResult,
  avoid: string | undefined,
): read is StoreReadResult & { readonly token: StoredToken } {
  return read.token !== undefined && read.ttlMs > 0 && read.token.fingerprint !== avoid;
}

/**
 * L1: the token this process sends, and how a token enters it. The soft and hard limits are
 * computed once, on the manager's clock, when a token is held, so reading L1 ({@link token})
 * costs nothing.
 */
export class LocalCache {
  readonly #config: TokenManagerConfig;
  readonly #onHeld: (fingerprint: string) => void;
  #token: LocalToken | undefined;
  /** True when the token came from the token endpoint while the store was down (offer it later). */
  #unpublished = false;

  /** `onHeld` runs each time a token is held, before `tokenInUse` is emitted. */
  constructor(config: TokenManagerConfig, onHeld: (fingerprint: string) => void) {
    this.#config = config;
    this.#onHeld = onHeld;
  }

  get token(): LocalToken | undefined {
    return this.#token;
  }

  /** The held token was fetched while the store was down and the store has not seen it yet. */
  get unpublished(): boolean {
    return this.#unpublished;
  }

  /** The store has seen the held token (it was offered to it). */
  markPublished(): void {
    this.#unpublished = false;
  }

  clear(): void {
    this.#token = undefined;
  }

  softWindowOf(token: StoredToken): number {
    return refreshTiming(token.lifetimeMs, this.#config.timing).softWindowMs;
  }

  /** Hold `token`, which may be sent for `ttlMs` from now. */
  hold(token: StoredToken, ttlMs: number, unpublished: boolean): LocalToken {
    const { clock, random, events, credential } = this.#config;
    const hardAt = clock.now() + ttlMs;
    // A little random spread per instance, so the fleet does not stampede the lease.
    const softAt = hardAt - this.softWindowOf(token) * (1 - SOFT_JITTER_RATIO * random());
    const local: LocalToken = {
      value: token.value,
      fingerprint: token.fingerprint,
      type: token.type,
      issuedAt: token.issuedAt,
      lifetimeMs: token.lifetimeMs,
      softAt,
      hardAt,
      ...(token.dpopKey !== undefined ? { dpopKey: token.dpopKey } : {}),
    };
    this.#token = local;
    this.#unpublished = unpublished;
    // A pending look for a longer-lived token stays pending: this token may come from a
    // store answer older than the announcement that asked for the look.
    this.#onHeld(token.fingerprint);
    events.tokenInUse.emit({
      credential,
      fingerprint: token.fingerprint,
      expiresAtMs: clock.wallNow() + ttlMs,
    });
    return local;
  }

  /**
   * Hold the store's token if it is another one and does not expire before `current`
   * (within the same-age margin: then the store's token wins, so the fleet agrees on one).
   */
  adoptIfLater(current: LocalToken, read: StoreReadResult): boolean {
    if (!usable(read, current.fingerprint)) return false;
    const remaining = current.hardAt - this.#config.clock.now();
    const sameAgeMs = Math.min(SAME_AGE_MAX_MS, current.lifetimeMs * SAME_AGE_RATIO);
    if (read.ttlMs <= remaining - sameAgeMs) return false;
    this.#config.events.cacheLookup.emit({
      credential: this.#config.credential,
      level: 'store',
      result: 'hit',
    });
    this.hold(read.token, read.ttlMs, false);
    return true;
  }
}

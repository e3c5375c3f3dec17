import { TokenUnavailableError } from '../../errors.js';
import type { FetchTrigger } from '../events.js';
import type { StoreReadResult } from '../store/types.js';
import { usable } from './local-cache.js';
import { StoreUnavailable } from './store-guard.js';
import type { TokenFetch } from './token-fetch.js';
import type { LocalToken, ManagerParts } from './types.js';

const POLL_FIRST_MS = 20; // waiters poll the store at 20, 40, 80 … ms
const POLL_MAX_MS = 200;

/**
 * L1 is missing or expired (run inside the single flight): adopt the store's token, or take
 * the refresh lease and fetch, or wait for the holder's announcement, polling the store with
 * jittered backoff, bounded by the lease (a holder that died is noticed when its lease
 * expires, and the lease is tried again). With the store down the instance fetches alone.
 */
export class MissPath {
  readonly #parts: ManagerParts;
  readonly #fetch: TokenFetch;
  readonly #isClosed: () => boolean;
  /** Resolvers of the waits in progress: an announcement ends them at once. */
  readonly #wakers = new Set<() => void>();

  constructor(parts: ManagerParts, fetch: TokenFetch, isClosed: () => boolean) {
    this.#parts = parts;
    this.#fetch = fetch;
    this.#isClosed = isClosed;
  }

  /** `claims`: what a claims challenge asked for, sent if this instance fetches. */
  async obtain(
    trigger: FetchTrigger,
    avoid: string | undefined,
    claims?: string,
  ): Promise<LocalToken> {
    const { config, guard, backoff, cache } = this.#parts;
    this.#parts.subscribe();
    backoff.throwIfActive();
    let read: StoreReadResult;
    try {
      read = await guard.run((store) => store.read(config.key));
    } catch (error) {
      if (error instanceof StoreUnavailable) return this.#fetch.fetch(trigger, 0, claims);
      throw error;
    }
    const found = usable(read, avoid) ? read.token : undefined;
    config.events.cacheLookup.emit({
      credential: config.credential,
      level: 'store',
      result: found ? 'hit' : 'miss',
    });
    if (found) return cache.hold(found, read.ttlMs, false);
    if (read.backoffMs > 0) throw backoff.fleetBackoff(read.backoffMs, read.backoffReason);
    return this.#leaseOrWait(trigger, avoid, claims);
  }

  /** An announcement came: waiters look at the store at once. */
  wakeWaiters(): void {
    for (const wake of this.#wakers) wake();
  }

  async #leaseOrWait(
    trigger: FetchTrigger,
    avoid: string | undefined,
    claims: string | undefined,
  ): Promise<LocalToken> {
    const { config, guard, backoff, cache, owner } = this.#parts;
    const { clock, random } = config;
    // A holder that died is noticed when its lease expires; wait a little longer than that.
    const giveUpAt = clock.now() + config.leaseMs + 1000;
    let delayMs = POLL_FIRST_MS;
    for (;;) {
      let fence: number;
      try {
        fence = await guard.run((store) => store.acquire(config.key, owner, config.leaseMs));
      } catch {
        return this.#fetch.fetch(trigger, 0, claims);
      }
      config.events.lease.emit({
        credential: config.credential,
        result: fence > 0 ? 'won' : 'lost',
      });
      if (fence > 0) return this.#fetch.asHolder(trigger, fence, avoid, claims);

      for (let polls = 0; polls < 4; polls++) {
        await this.#waitForAnnouncement(delayMs * (0.5 + random() / 2));
        delayMs = Math.min(delayMs * 2, POLL_MAX_MS);
        let read: StoreReadResult;
        try {
          read = await guard.run((store) => store.read(config.key));
        } catch {
          return this.#fetch.fetch(trigger, 0, claims);
        }
        if (usable(read, avoid)) return cache.hold(read.token, read.ttlMs, false);
        if (read.backoffMs > 0) throw backoff.fleetBackoff(read.backoffMs, read.backoffReason);
        if (this.#isClosed()) {
          throw new TokenUnavailableError(
            config.credential,
            'closed',
            'the authorization was closed',
          );
        }
      }
      if (clock.now() > giveUpAt) {
        throw new TokenUnavailableError(
          config.credential,
          'lease_wait_timeout',
          'another instance holds the refresh lease but published no token in time',
        );
      }
    }
  }

  #waitForAnnouncement(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        timer.cancel();
        this.#wakers.delete(done);
        resolve();
      };
      const timer = this.#parts.config.clock.setTimeout(done, ms);
      this.#wakers.add(done);
    });
  }
}

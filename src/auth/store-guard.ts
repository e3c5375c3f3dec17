import type { TokenEvents } from './events.js';
import type { TokenStore } from './store/types.js';

/** Thrown by {@link StoreGuard.run} while the store is considered down. Internal. */
export class StoreUnavailable extends Error {
  constructor() {
    super('token store unavailable');
    this.name = 'StoreUnavailable';
  }
}

/**
 * A breaker around the token store. Any error or timeout marks the store down: operations
 * then fail at once (the token manager works alone: L1, in-process single flight, local
 * backoff) and never wait on a dead or frozen Redis. While it is down, a probe every
 * `breakMs` (and only the probe) checks the store; when it answers, the store is up again
 * and `onRecovered` runs (adopt the fleet's token). So a call pays the store timeout at
 * most once per outage, whatever the outage's length. Emits `storeState` on the first
 * answer and on every transition.
 */
export class StoreGuard {
  readonly #store: TokenStore;
  readonly #events: TokenEvents;
  readonly #credential: string;
  readonly #breakMs: number;
  readonly #onRecovered: () => void;
  #up = true;
  /** What `storeState` last reported (none yet: the gauge exists from the first answer on). */
  #reported: boolean | undefined;
  #probe: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(init: {
    store: TokenStore;
    events: TokenEvents;
    credential: string;
    breakMs: number;
    onRecovered: () => void;
  }) {
    this.#store = init.store;
    this.#events = init.events;
    this.#credential = init.credential;
    this.#breakMs = init.breakMs;
    this.#onRecovered = init.onRecovered;
  }

  /** True while the store answers (or is being probed again). */
  get up(): boolean {
    return this.#up;
  }

  /** Run one store operation, bounded by the store's operation timeout. */
  async run<T>(operation: (store: TokenStore) => Promise<T>): Promise<T> {
    // While down, calls never touch the store: only the probe finds out it is back.
    if (this.#closed || !this.#up) throw new StoreUnavailable();
    try {
      const result = await this.#bounded(operation(this.#store));
      this.#report(true);
      return result;
    } catch {
      this.#markDown();
      throw new StoreUnavailable();
    }
  }

  #bounded<T>(promise: Promise<T>): Promise<T> {
    const timeoutMs = this.#store.operationTimeoutMs;
    if (!Number.isFinite(timeoutMs)) return promise;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      // Timers run before I/O in an event-loop turn: after a stall of this process (GC, a
      // busy CPU) the timer may fire although Redis's answer already sits in the socket.
      // Give I/O one more turn (setImmediate runs after the poll phase) before declaring
      // the store down, so our own stall is not mistaken for a Redis outage.
      timer = setTimeout(
        () => setImmediate(() => reject(new Error('token store timeout'))),
        timeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  #markDown(): void {
    if (!this.#up) return;
    this.#up = false;
    this.#report(false);
    this.#scheduleProbe();
  }

  #markUp(): void {
    this.#up = true;
    clearTimeout(this.#probe);
    this.#probe = undefined;
    this.#report(true);
    this.#onRecovered();
  }

  /** Emit `storeState` when the state telemetry last saw changes. */
  #report(up: boolean): void {
    if (this.#reported === up) return;
    this.#reported = up;
    this.#events.storeState.emit({ credential: this.#credential, up });
  }

  #scheduleProbe(): void {
    if (this.#closed || this.#probe) return;
    this.#probe = setTimeout(() => {
      this.#probe = undefined;
      if (this.#up || this.#closed) return;
      this.#bounded(this.#store.ping()).then(
        () => {
          if (!this.#closed) this.#markUp();
        },
        () => this.#scheduleProbe(),
      );
    }, this.#breakMs);
    this.#probe.unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#probe);
    this.#probe = undefined;
  }
}

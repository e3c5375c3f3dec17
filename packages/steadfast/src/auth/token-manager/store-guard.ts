import type { TokenEvents } from '../events.js';
import type { TokenStore } from '../store/types.js';
import type { Clock, Timer } from './clock.js';

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
 * backoff) and never wait on a dead or frozen Redis. While it is down only a probe touches
 * the store: one every `breakMs`, one at once on a recovery hint (the store reconnected, or
 * an announcement arrived through it), and one when a background refresh asks for it
 * ({@link probe}) — never a call. When a probe is answered the store is up again and
 * `onRecovered` runs (reconcile with the fleet's token) before the probe resolves. So a
 * call pays the store timeout at most once per outage, whatever the outage's length, and
 * the instance rejoins the fleet as soon as anything shows that the store is back. Emits
 * `storeState` on the first answer and on every transition.
 */
export class StoreGuard {
  readonly #store: TokenStore;
  readonly #events: TokenEvents;
  readonly #credential: string;
  readonly #breakMs: number;
  readonly #onRecovered: () => Promise<void>;
  readonly #clock: Clock;
  #up = true;
  /** What `storeState` last reported (none yet: the gauge exists from the first answer on). */
  #reported: boolean | undefined;
  #probeTimer: Timer | undefined;
  /** The probe in progress: one at a time, shared by everyone who asks. */
  #probing: Promise<boolean> | undefined;
  #closed = false;

  constructor(init: {
    store: TokenStore;
    events: TokenEvents;
    credential: string;
    breakMs: number;
    clock: Clock;
    /** The store answers again. The probe that found it back resolves after this. */
    onRecovered: () => Promise<void>;
  }) {
    this.#store = init.store;
    this.#events = init.events;
    this.#credential = init.credential;
    this.#breakMs = init.breakMs;
    this.#onRecovered = init.onRecovered;
    this.#clock = init.clock;
  }

  /** False from a store failure until a probe is answered. */
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
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      // Timers run before I/O in an event-loop turn: after a stall of this process (GC, a
      // busy CPU) the timer may fire although Redis's answer already sits in the socket.
      // Give I/O one more turn (setImmediate runs after the poll phase) before declaring
      // the store down, so our own stall is not mistaken for a Redis outage.
      timer = this.#clock.setTimeout(
        () => setImmediate(() => reject(new Error('token store timeout'))),
        timeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => timer?.cancel());
  }

  /**
   * Something suggests the store is back (its connection is ready again, an announcement
   * came through it): while down, probe now rather than at the next timer.
   */
  hint(): void {
    if (this.#up || this.#closed) return;
    this.probe().catch(() => {});
  }

  /**
   * True when the store answers: at once while up; while down, after one probe (shared
   * with any probe in progress), bounded by the store's operation timeout. For background
   * work only: a call must never wait on a store that is down.
   */
  probe(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    // A probe that found the store back resolves after the reconciliation: wait for it too.
    if (this.#probing) return this.#probing;
    if (this.#up) return Promise.resolve(true);
    this.#probing = this.#bounded(this.#store.ping()).then(
      async () => {
        if (this.#closed) return false;
        await this.#markUp();
        this.#probing = undefined;
        return true;
      },
      () => {
        this.#probing = undefined;
        this.#scheduleProbe();
        return false;
      },
    );
    return this.#probing;
  }

  #markDown(): void {
    if (!this.#up) return;
    this.#up = false;
    this.#report(false);
    this.#scheduleProbe();
  }

  async #markUp(): Promise<void> {
    this.#up = true;
    this.#probeTimer?.cancel();
    this.#probeTimer = undefined;
    this.#report(true);
    await this.#onRecovered().catch(() => {});
  }

  /** Emit `storeState` when the state telemetry last saw changes. */
  #report(up: boolean): void {
    if (this.#reported === up) return;
    this.#reported = up;
    this.#events.storeState.emit({ credential: this.#credential, up });
  }

  #scheduleProbe(): void {
    if (this.#closed || this.#probeTimer) return;
    this.#probeTimer = this.#clock.setTimeout(
      () => {
        this.#probeTimer = undefined;
        this.hint();
      },
      this.#breakMs,
      true, // a probe alone never keeps the process alive
    );
  }

  close(): void {
    this.#closed = true;
    this.#probeTimer?.cancel();
    this.#probeTimer = undefined;
  }
}

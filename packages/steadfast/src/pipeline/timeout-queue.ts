/** One pending timeout in a `TimeoutQueue`: a node of its doubly linked list. */
export interface PendingTimeout {
  readonly at: number;
  readonly onTimeout: () => void;
  prev: PendingTimeout | undefined;
  next: PendingTimeout | undefined;
}

/**
 * Timeouts that all have the same duration, sharing one timer — the design of Node's own
 * timer lists, without a `Timeout` object per attempt and the `setTimeout`/`clearTimeout`
 * pair (~0.5 µs, the largest single cost of the attempt-timeout strategy in bench/micro.ts).
 *
 * With one duration, deadlines come in the order the timeouts were added, so the list is
 * sorted by construction: adding appends, cancelling unlinks (both O(1)), and the one timer
 * is armed for the head. The timer is unref'd: it only matters while an attempt is in flight,
 * and an attempt in flight has a socket that keeps the process alive; an idle client keeps
 * nothing alive.
 */
export class TimeoutQueue {
  readonly #durationMs: number;
  #head: PendingTimeout | undefined;
  #tail: PendingTimeout | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(durationMs: number) {
    this.#durationMs = durationMs;
  }

  /** The one duration of every timeout in the queue. */
  get durationMs(): number {
    return this.#durationMs;
  }

  /**
   * Call `onTimeout` once the duration has passed since `now`, unless `cancel`led before.
   * (`now` is the caller's `performance.now()`, when it has one at hand.)
   */
  add(onTimeout: () => void, now = performance.now()): PendingTimeout {
    const entry: PendingTimeout = {
      at: now + this.#durationMs,
      onTimeout,
      prev: this.#tail,
      next: undefined,
    };
    if (this.#tail) this.#tail.next = entry;
    else this.#head = entry;
    this.#tail = entry;
    if (this.#timer === undefined) this.#arm(entry.at);
    return entry;
  }

  cancel(entry: PendingTimeout): void {
    const { prev, next } = entry;
    if (prev) prev.next = next;
    else if (this.#head === entry) this.#head = next;
    else return; // already fired or cancelled
    if (next) next.prev = prev;
    else this.#tail = prev;
    entry.prev = undefined;
    entry.next = undefined;
  }

  #arm(at: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(0, Math.ceil(at - performance.now())));
    this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#head !== undefined && this.#head.at <= now) {
      const entry = this.#head;
      this.cancel(entry);
      entry.onTimeout();
    }
    if (this.#head !== undefined) this.#arm(this.#head.at);
  };
}

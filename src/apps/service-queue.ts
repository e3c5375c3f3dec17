/** How a request's wait for a worker ended. */
export type ServiceEntry = 'admitted' | 'refused' | 'abandoned';

/** What a service queue did since the API started. */
export interface ServiceQueueCounts {
  /** Workers busy now, and requests waiting for one now. */
  readonly busy: number;
  readonly queued: number;
  /** The most busy workers and the longest queue seen at once. */
  readonly peakBusy: number;
  readonly peakQueued: number;
  /** Requests that got a worker. */
  readonly served: number;
  /** Requests refused at once: the queue was full. */
  readonly refused: number;
  /** Requests whose client left while they waited. */
  readonly abandoned: number;
}

interface Waiter {
  readonly admit: () => void;
  left: boolean;
}

/**
 * A service of fixed capacity, as the flaky API's `capacity` profile field models it:
 * `capacity` parallel workers and one FIFO queue beyond them. A request takes a worker when
 * one is free, else waits its turn (up to `queueLimit` waiting; one more is refused at once);
 * a request whose client leaves while it waits is dropped from the queue. The capacity is
 * read per request (it comes from the request's fault profile), so a profile change applies
 * to the next hand-over.
 *
 * @example
 * const queue = new ServiceQueue();
 * if ((await queue.enter(4, 100, (leave) => res.once('close', leave))) === 'admitted') {
 *   try { await work(); } finally { queue.leave(4); }
 * }
 */
export class ServiceQueue {
  #busy = 0;
  readonly #waiting: Waiter[] = [];
  #peakBusy = 0;
  #peakQueued = 0;
  #served = 0;
  #refused = 0;
  #abandoned = 0;

  /**
   * Take a worker, or wait for one. `gone` registers what to call when the request's client
   * leaves (its connection closed): a waiting request is then dropped, `abandoned`.
   */
  enter(
    capacity: number,
    queueLimit: number,
    gone: (leave: () => void) => void,
  ): Promise<ServiceEntry> {
    if (this.#busy < capacity && this.#waiting.length === 0) {
      this.#take();
      return Promise.resolve('admitted');
    }
    if (this.#waiting.length >= queueLimit) {
      this.#refused += 1;
      return Promise.resolve('refused');
    }
    return new Promise<ServiceEntry>((resolve) => {
      const waiter: Waiter = { admit: () => resolve('admitted'), left: false };
      this.#waiting.push(waiter);
      this.#peakQueued = Math.max(this.#peakQueued, this.#waiting.length);
      gone(() => {
        if (waiter.left) return;
        waiter.left = true;
        const index = this.#waiting.indexOf(waiter);
        if (index >= 0) this.#waiting.splice(index, 1);
        this.#abandoned += 1;
        resolve('abandoned');
      });
    });
  }

  /** Give a worker back: the next waiting request takes it while workers are free. */
  leave(capacity: number): void {
    this.#busy -= 1;
    while (this.#busy < capacity && this.#waiting.length > 0) {
      const next = this.#waiting.shift()!;
      next.left = true;
      this.#take();
      next.admit();
    }
  }

  counts(): ServiceQueueCounts {
    return {
      busy: this.#busy,
      queued: this.#waiting.length,
      peakBusy: this.#peakBusy,
      peakQueued: this.#peakQueued,
      served: this.#served,
      refused: this.#refused,
      abandoned: this.#abandoned,
    };
  }

  #take(): void {
    this.#busy += 1;
    this.#served += 1;
    this.#peakBusy = Math.max(this.#peakBusy, this.#busy);
  }
}

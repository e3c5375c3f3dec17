/**
 * The permits an instance holds: leases from the store, each a run of permits whose i-th
 * may be used from `firstAt + i × everyMs` on (this process's `performance.now()` clock).
 * Taking permits takes them in order; permits whose time is long past are dropped, so a
 * quiet instance never saves up a burst.
 */
interface Run {
  firstAt: number;
  left: number;
  readonly everyMs: number;
  /** Taken from the local share while the store was down, not from the fleet's quota. */
  readonly local: boolean;
}

export class LeasePool {
  readonly #runs: Run[] = [];

  constructor(
    /** Permits usable before `now − staleMs` are dropped. */
    private readonly staleMs: number,
  ) {}

  add(firstAt: number, count: number, everyMs: number, local = false): void {
    if (count > 0) this.#runs.push({ firstAt, left: count, everyMs, local });
  }

  /** Drop the permits of the local share (the instance rejoined the fleet's quota). */
  dropLocal(): void {
    for (let i = this.#runs.length - 1; i >= 0; i--) {
      if (this.#runs[i]!.local) this.#runs.splice(i, 1);
    }
  }

  /** Permits held (after dropping stale ones). */
  size(now: number): number {
    this.#dropStale(now);
    let size = 0;
    for (const run of this.#runs) size += run.left;
    return size;
  }

  /** When the last of the next `permits` may be used, or `undefined` when fewer are held. */
  peek(permits: number, now: number): number | undefined {
    this.#dropStale(now);
    let need = permits;
    for (const run of this.#runs) {
      if (run.left >= need) return run.firstAt + (need - 1) * run.everyMs;
      need -= run.left;
    }
    return undefined;
  }

  /** Take the next `permits` (as `peek` found them). */
  take(permits: number): void {
    let need = permits;
    while (need > 0) {
      const run = this.#runs[0];
      if (!run) return;
      const taken = Math.min(need, run.left);
      run.left -= taken;
      run.firstAt += taken * run.everyMs;
      need -= taken;
      if (run.left === 0) this.#runs.shift();
    }
  }

  /** When the last permit held may be used (`now` when none are held). */
  end(now: number): number {
    const last = this.#runs.at(-1);
    return last ? Math.max(now, last.firstAt + (last.left - 1) * last.everyMs) : now;
  }

  clear(): void {
    this.#runs.length = 0;
  }

  #dropStale(now: number): void {
    this.dropBefore(now - this.staleMs);
  }

  /** Drop the permits usable before `oldest`. */
  dropBefore(oldest: number): void {
    while (this.#runs.length > 0) {
      const run = this.#runs[0]!;
      if (run.firstAt >= oldest) return;
      const stale = Math.min(run.left, Math.floor((oldest - run.firstAt) / run.everyMs) + 1);
      run.left -= stale;
      run.firstAt += stale * run.everyMs;
      if (run.left > 0) return;
      this.#runs.shift();
    }
  }
}

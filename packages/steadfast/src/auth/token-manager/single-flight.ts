/**
 * One in-process flight at a time: concurrent callers on the miss path share the flight in
 * progress instead of each reading the store or fetching.
 */
export class SingleFlight<T> {
  #current: Promise<T> | undefined;

  /** The flight in progress, if any. */
  get current(): Promise<T> | undefined {
    return this.#current;
  }

  /** Start `task` as the flight; `onSettled` runs once it has ended and is no longer current. */
  start(task: () => Promise<T>, onSettled: () => void): Promise<T> {
    const flight: Promise<T> = task().finally(() => {
      if (this.#current === flight) this.#current = undefined;
      onSettled();
    });
    this.#current = flight;
    return flight;
  }
}

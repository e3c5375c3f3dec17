/**
 * This instance's one background store task (a soft refresh, or a look for a longer-lived
 * token): never two at once, and none while a flight runs (the flight reads the store
 * anyway). Calls never wait for it; its failures are reported through events, and the
 * current token keeps serving.
 */
export class BackgroundTask {
  readonly #blocked: () => boolean;
  readonly #onIdle: () => void;
  #running: Promise<void> | undefined;

  /**
   * @param blocked true while no background task may start (a flight runs, the manager is closed)
   * @param onIdle runs after each task, so work asked for while it ran is not lost
   */
  constructor(blocked: () => boolean, onIdle: () => void) {
    this.#blocked = blocked;
    this.#onIdle = onIdle;
  }

  /** Run `task` unless one is running or the manager is busy; true when it started. */
  start(task: () => Promise<void>): boolean {
    if (this.#running || this.#blocked()) return false;
    this.#running = task()
      .catch(() => {}) // reported through fetchEnd; the current token keeps serving
      .finally(() => {
        this.#running = undefined;
        this.#onIdle();
      });
    return true;
  }
}

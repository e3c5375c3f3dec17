/** A timer started by {@link Clock.setTimeout}. */
export interface Timer {
  /** Stop the timer; harmless once it has fired. */
  cancel(): void;
}

/**
 * Where the token manager reads the time and starts its timers. Injected (like its
 * `random`) so a test drives the manager with a fake clock and no real waits;
 * `clientCredentials` passes {@link systemClock}.
 */
export interface Clock {
  /** Monotonic milliseconds (`performance.now()`): durations, deadlines, a token's soft and hard limits. */
  now(): number;
  /** Wall-clock Unix epoch milliseconds (`Date.now()`): only for what leaves the process (`issuedAt`, `expiresAtMs`). */
  wallNow(): number;
  /**
   * Call `callback` once after `delayMs`. An `unref` timer does not keep the process
   * alive (the store guard's probe timer is one).
   */
  setTimeout(callback: () => void, delayMs: number, unref?: boolean): Timer;
}

/**
 * The process's clock: `performance.now()`, `Date.now()` and Node's timers.
 *
 * @example
 * new TokenManager({ ...settings, clock: systemClock, random: Math.random });
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(callback, delayMs, unref = false) {
    const timer = setTimeout(callback, delayMs);
    if (unref) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

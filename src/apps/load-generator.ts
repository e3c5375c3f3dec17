import { setMaxListeners } from 'node:events';

/**
 * One call of the load: resolves `'ok'` on success, or a short failure reason (an HTTP
 * status, an error code); a rejection counts under the error's `code` or `name`.
 */
export type LoadCall = (signal: AbortSignal) => Promise<string>;

/** Options of {@link startLoad}. */
export interface LoadOptions {
  /** Calls started per second. */
  readonly ratePerSecond: number;
  /** Calls in flight at most; a call that would exceed it is skipped, not queued. */
  readonly concurrency: number;
  readonly call: LoadCall;
  /** Scheduler tick, in ms. Default: 20. */
  readonly tickMs?: number;
}

/** Counters of a load run. */
export interface LoadStats {
  readonly started: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Calls not started because `concurrency` calls were already in flight. */
  readonly skipped: number;
  readonly inFlight: number;
  /** Failed calls by reason (`503`, `ERR_STEADFAST_CIRCUIT_OPEN`, ...). */
  readonly failures: Readonly<Record<string, number>>;
}

/** What {@link Load.stop} did. */
export interface DrainReport {
  /** True when every in-flight call settled before the drain timeout. */
  readonly drained: boolean;
  /** Calls still in flight at the timeout, then aborted. */
  readonly aborted: number;
}

/** A running load. */
export interface Load {
  stats(): LoadStats;
  /**
   * Start no new call; wait for the in-flight ones up to `drainTimeoutMs`, then abort the
   * rest and wait for them to settle.
   */
  stop(drainTimeoutMs: number): Promise<DrainReport>;
}

/**
 * An open-loop load: starts `ratePerSecond` calls per second whatever the latency, with at
 * most `concurrency` in flight. Open loop matters here: a slow downstream must not slow
 * the offered load down, or retries and breakers would never be exercised.
 */
export function startLoad(options: LoadOptions): Load {
  const { ratePerSecond, concurrency, call } = options;
  const tickMs = options.tickMs ?? 20; // 20 ms
  if (!(ratePerSecond > 0 && ratePerSecond <= 100_000)) {
    throw new RangeError(`ratePerSecond must be in (0, 100000], got ${ratePerSecond}`);
  }
  if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 100_000)) {
    throw new RangeError(`concurrency must be an integer in [1, 100000], got ${concurrency}`);
  }
  const abort = new AbortController();
  const inFlight = new Set<Promise<void>>();
  // Every call listens on the same signal: allow as many listeners as calls in flight.
  setMaxListeners(concurrency + 16, abort.signal);
  const counters = { started: 0, succeeded: 0, failed: 0, skipped: 0 };
  const failures: Record<string, number> = {};
  const fail = (reason: string) => {
    counters.failed += 1;
    failures[reason] = (failures[reason] ?? 0) + 1;
  };
  let credit = 0;
  let last = performance.now();

  const launch = () => {
    counters.started += 1;
    const running: Promise<void> = call(abort.signal)
      .then(
        (result) => {
          if (result === 'ok') counters.succeeded += 1;
          else fail(result);
        },
        (error: unknown) => {
          const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
          fail(typeof code === 'string' ? code : typeof name === 'string' ? name : 'unknown');
        },
      )
      .finally(() => inFlight.delete(running));
    inFlight.add(running);
  };

  const timer = setInterval(() => {
    const now = performance.now();
    credit += ((now - last) / 1000) * ratePerSecond;
    last = now;
    while (credit >= 1) {
      credit -= 1;
      if (inFlight.size >= concurrency) counters.skipped += 1;
      else launch();
    }
  }, tickMs);

  return {
    stats: () => ({ ...counters, inFlight: inFlight.size, failures: { ...failures } }),
    async stop(drainTimeoutMs) {
      clearInterval(timer);
      const settled = Promise.allSettled([...inFlight]).then(() => true);
      let timeout: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => {
        timeout = setTimeout(() => resolve(false), drainTimeoutMs);
      });
      const drained = await Promise.race([settled, timedOut]);
      clearTimeout(timeout);
      const aborted = drained ? 0 : inFlight.size;
      abort.abort(new Error('worker shutting down'));
      await Promise.allSettled([...inFlight]);
      return { drained, aborted };
    },
  };
}

import type { LiveStrategies } from './progress.js';
import { emptyRawRun, type RawRun, type StrategyEventKind } from './types.js';

/**
 * Collects what one process sees during one policy's run. Times are ms since `epochStartMs`
 * (a wall-clock instant shared by every worker process), with sub-ms precision.
 */
export class Recorder {
  readonly raw: RawRun = emptyRawRun();
  /** Live figures for the progress line. */
  calls = 0;
  succeeded = 0;
  attempts = 0;
  inflight = 0;
  /** Hedged attempts sent, fallbacks served and attempts throttled so far. */
  hedges = 0;
  fallbacks = 0;
  throttled = 0;
  /** The adaptive concurrency limit now, summed over origins; undefined before it moved. */
  limit: number | undefined;
  readonly #limits = new Map<string, number>();
  readonly #offset: number;

  constructor(epochStartMs: number) {
    this.#offset = performance.timeOrigin - epochStartMs;
  }

  /** ms since the run started. */
  now(): number {
    return performance.now() + this.#offset;
  }

  call(intendedStart: number, end: number, ok: boolean, outcome: string): void {
    this.calls++;
    if (ok) this.succeeded++;
    this.raw.callStart.push(intendedStart);
    this.raw.callLatency.push(end - intendedStart);
    this.raw.callOk.push(ok ? 1 : 0);
    this.raw.callOutcome.push(outcome);
  }

  attempt(outcome: string): void {
    this.attempts++;
    this.raw.attemptEnd.push(this.now());
    this.raw.attemptOutcome.push(outcome);
  }

  retry(reason: string, delayMs: number, source: string): void {
    this.raw.retryAt.push(this.now());
    this.raw.retryReason.push(reason);
    this.raw.retryDelayMs.push(delayMs);
    this.raw.retrySource.push(source);
  }

  breaker(origin: string, from: string, to: string): void {
    this.raw.breaker.push({ t: this.now(), origin, from, to });
  }

  tokenFetch(): void {
    this.raw.tokenFetchAt.push(this.now());
  }

  strategy(kind: StrategyEventKind): void {
    if (kind === 'hedge') this.hedges++;
    else if (kind === 'stale' || kind === 'handler') this.fallbacks++;
    else if (kind === 'throttled') this.throttled++;
    this.raw.strategyAt.push(this.now());
    this.raw.strategyKind.push(kind);
  }

  /** The strategy figures of the progress line. */
  liveStrategies(): LiveStrategies {
    return {
      hedges: this.hedges,
      fallbacks: this.fallbacks,
      throttled: this.throttled,
      limit: this.limit,
    };
  }

  concurrencyLimit(origin: string, limit: number, previous: number): void {
    this.#limits.set(origin, limit);
    let sum = 0;
    for (const value of this.#limits.values()) sum += value;
    this.limit = sum;
    this.raw.limit.push({ t: this.now(), process: process.pid, origin, limit, previous });
  }
}

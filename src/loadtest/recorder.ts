import { emptyRawRun, type RawRun } from './types.js';

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
}

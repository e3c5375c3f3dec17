/**
 * What the per-origin limiter asks of an algorithm (aimd.ts, gradient.ts): a limit, and one
 * report per call that finished. The limiter owns the slots and the queue; a controller only
 * turns samples into a number, so it can be tested with no socket and no clock of its own.
 */
export interface LimitController {
  /** The limit now: a whole number in [minLimit, maxLimit]. */
  readonly limit: number;
  /**
   * One call finished (see sample.ts for what counts).
   *
   * @param now `performance.now()` when it finished.
   * @param startedAt when it was admitted (its slot taken).
   * @param rttMs `now - startedAt`; meaningless for a drop.
   * @param inflight calls of the origin in flight when it was admitted, itself included.
   * @param drop true when the call was dropped (refused, timed out, failed on the wire, re-sent).
   */
  onSample(now: number, startedAt: number, rttMs: number, inflight: number, drop: boolean): void;
  /** A call found the limit full (it was queued or refused): the limit is the bottleneck. */
  onLimitReached(): void;
}

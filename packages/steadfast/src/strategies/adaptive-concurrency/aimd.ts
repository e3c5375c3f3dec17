import type { LimitController } from './controller.js';

/** The settings AIMD reads (`concurrency.adaptive`). */
export interface AimdSettings {
  readonly initialLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly backoffRatio: number;
  readonly latencyThresholdMs: number;
}

/**
 * Additive increase, multiplicative decrease — TCP's congestion avoidance, as Netflix's
 * AIMDLimit applies it to a concurrency limit. Loss-based: it reacts to drops (and to calls
 * slower than `latencyThresholdMs`), never to latency that merely grows.
 *
 * - A call that was not dropped, admitted while the limit was in use (at least half of it in
 *   flight), adds `1 / limit`: the limit grows by one per limit's worth of calls, about one
 *   per round trip when it is full. An unused limit does not grow (it would mean nothing).
 * - A drop multiplies the limit by `backoffRatio` (and takes at least one off), down to
 *   `minLimit`. Once per round, as TCP halves once per window: the drops of calls admitted
 *   before the last cut were sent under the old limit and say nothing about the new one, so
 *   a burst of timeouts cuts once, not once per call.
 */
export class AimdController implements LimitController {
  #limit: number;
  /** Calls counted towards the next step up: one step per `limit` of them. */
  #credit = 0;
  /** When the limit was last cut: drops of calls admitted before it do not cut again. */
  #cutAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly settings: AimdSettings) {
    this.#limit = settings.initialLimit;
  }

  get limit(): number {
    return this.#limit;
  }

  onSample(now: number, startedAt: number, rttMs: number, inflight: number, drop: boolean): void {
    const { minLimit, maxLimit, backoffRatio, latencyThresholdMs } = this.settings;
    const limit = this.#limit;
    if (drop || rttMs > latencyThresholdMs) {
      if (startedAt < this.#cutAt) return;
      this.#limit = Math.max(minLimit, Math.min(limit - 1, Math.floor(limit * backoffRatio)));
      this.#credit = 0;
      this.#cutAt = now;
      return;
    }
    if (inflight * 2 < limit || limit >= maxLimit) return;
    if (++this.#credit < limit) return;
    this.#credit = 0;
    this.#limit = limit + 1;
  }

  /** AIMD grows on use and shrinks on drops: a full limit tells it nothing more. */
  onLimitReached(): void {}
}

import type { LimitController } from './controller.js';

/** The settings the gradient reads (`concurrency.adaptive`). */
export interface GradientSettings {
  readonly initialLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly windowMs: number;
  readonly minWindowSamples: number;
  readonly tolerance: number;
  readonly smoothing: number;
  readonly longWindow: number;
}

/** Windows averaged plainly before the baseline becomes an exponential average. */
const WARMUP_WINDOWS = 10;
/** The most one window can take off the estimate before smoothing (outliers, a GC pause). */
const MIN_GRADIENT = 0.5;
/** Windows with the limit full, since the last probe, after which the baseline is re-measured. */
const FULL_WINDOWS_PER_PROBE = 30;

/**
 * A latency-gradient limit in the manner of Netflix's Gradient2Limit: once per sample window
 * it compares the window's average round trip (short) with a long-term baseline (an
 * exponential average of the windows' averages) and moves the limit by their ratio:
 *
 *     gradient = clamp(tolerance × long / short, 0.5, 1) — and ≤ 1 − the window's drop share
 *     estimate = estimate × (1 − smoothing) + (estimate × gradient + √estimate) × smoothing
 *
 * While nothing queues, short ≈ long, the gradient is 1 and the limit grows by √limit ×
 * smoothing per window. Past the API's capacity, every extra call in flight only waits, so
 * the round trip grows with the limit and the gradient pulls it back: the limit settles where
 * the round trip is about `tolerance` × the baseline, with a queue of √limit on top — near
 * the capacity, latency near its unloaded value. Drops (refusals, timeouts, re-sends) are no
 * round trips: they are left out of the average, and a window where a share d of the calls
 * dropped scales the limit by at most 1 − d, so a few stray 503s cost little and an API that
 * refuses everything halves it.
 *
 * The baseline is what decides, so it is kept honest three ways:
 * - it follows lasting changes slowly (an exponential average over `longWindow` windows), so
 *   queueing is not taken for the new normal at once;
 * - when the recent round trip is under half of it (the API became faster, an overload ended)
 *   it drops by 10 % per window instead of waiting for the average;
 * - it is re-measured while the limit is the bottleneck: after every 30 windows in which the
 *   limit was full, one window runs at limit ÷ (2 × tolerance) — below the point where the
 *   limit had settled, so below the API's knee — and the round trip of the calls admitted in
 *   it, once what was in flight before had one round trip to drain, becomes the baseline. Under a lasting overload, the average would otherwise drift up
 *   with the queueing it tolerates (Gradient2's known drift); an API that became slower for
 *   good, or an origin that started above its capacity, gets its true baseline the same way.
 *   The limit then goes back to where it was. An API with room never fills the limit: no
 *   probe.
 *
 * A window in which fewer than half the limit were ever in flight leaves the limit alone: the
 * callers, not the API, held it back.
 */
export class GradientController implements LimitController {
  #estimate: number;
  #limit: number;
  /** The long-term round trip, ms; 0 until the first window. */
  #long = 0;
  #windows = 0;
  /** Windows with the limit full since the last probe. */
  #fullWindows = 0;
  /**
   * While re-measuring the baseline: calls admitted from then on are measured (earlier ones are
   * ignored), and the estimate to go back to.
   */
  #probeStartedAt: number | undefined;
  #resumeEstimate = 0;
  // The current window: when it began, its round trips, drops and peak in flight.
  #windowStart: number | undefined;
  #rttSum = 0;
  #samples = 0;
  #drops = 0;
  #peakInflight = 0;
  /** A call found the limit full during the window. */
  #full = false;

  constructor(private readonly settings: GradientSettings) {
    this.#estimate = settings.initialLimit;
    this.#limit = settings.initialLimit;
  }

  get limit(): number {
    return this.#limit;
  }

  /** The baseline round trip, ms (0 before the first window). */
  get baselineMs(): number {
    return this.#long;
  }

  onSample(now: number, startedAt: number, rttMs: number, inflight: number, drop: boolean): void {
    // A probe measures only the calls admitted under its limit.
    if (this.#probeStartedAt !== undefined && startedAt < this.#probeStartedAt) return;
    this.#windowStart ??= startedAt;
    if (drop) this.#drops++;
    else {
      this.#rttSum += rttMs;
      this.#samples++;
    }
    if (inflight > this.#peakInflight) this.#peakInflight = inflight;
    const { windowMs, minWindowSamples } = this.settings;
    if (now - this.#windowStart < windowMs) return;
    if (this.#samples + this.#drops < minWindowSamples) return;
    this.#closeWindow(now);
    this.#windowStart = now;
  }

  #closeWindow(now: number): void {
    const { minLimit, maxLimit, tolerance, smoothing } = this.settings;
    const samples = this.#samples;
    const drops = this.#drops;
    const short = samples > 0 ? this.#rttSum / samples : 0;
    const full = this.#full;
    this.#full = false;
    const appLimited = this.#peakInflight < this.#estimate / 2;
    this.#rttSum = 0;
    this.#samples = 0;
    this.#drops = 0;
    this.#peakInflight = 0;

    if (this.#probeStartedAt !== undefined) {
      this.#probeStartedAt = undefined;
      if (samples > 0) this.#long = short;
      this.#estimate = this.#resumeEstimate;
      this.#limit = Math.floor(this.#estimate);
      return;
    }
    if (samples > 0) this.#learn(short);
    if (appLimited) return;
    let gradient =
      samples > 0 && this.#long > 0
        ? Math.max(MIN_GRADIENT, Math.min(1, (tolerance * this.#long) / short))
        : MIN_GRADIENT;
    gradient = Math.min(gradient, Math.max(MIN_GRADIENT, 1 - drops / (samples + drops)));
    const estimate = this.#estimate;
    const target = estimate * gradient + Math.sqrt(estimate);
    this.#estimate = Math.max(
      minLimit,
      Math.min(maxLimit, estimate * (1 - smoothing) + target * smoothing),
    );
    this.#limit = Math.floor(this.#estimate);

    if (full && this.#estimate < maxLimit) this.#fullWindows++;
    if (this.#fullWindows >= FULL_WINDOWS_PER_PROBE && samples > 0) {
      this.#fullWindows = 0;
      // The calls in flight now were admitted under the old limit and fill the API's queue
      // for about one more round trip: only calls admitted after that are measured.
      this.#probeStartedAt = now + short;
      this.#resumeEstimate = this.#estimate;
      this.#limit = Math.max(minLimit, Math.floor(this.#estimate / (2 * tolerance)));
    }
  }

  onLimitReached(): void {
    this.#full = true;
  }

  /** Fold a window's average into the baseline. */
  #learn(short: number): void {
    this.#windows++;
    if (this.#windows <= WARMUP_WINDOWS) {
      this.#long += (short - this.#long) / this.#windows;
    } else {
      const factor = 2 / (this.settings.longWindow + 1);
      this.#long = this.#long * (1 - factor) + short * factor;
    }
    // Recovering from a long overload, or a faster API: do not wait for the average.
    if (this.#long > 2 * short) this.#long *= 0.9;
  }
}

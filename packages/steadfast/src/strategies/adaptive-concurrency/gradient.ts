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
  readonly baselineIntervalMs: number;
}

/** The most one window can take off the estimate before smoothing (outliers, a GC pause). */
const MIN_GRADIENT = 0.5;
/** A probe that has run this long ends with 3 round trips (a slow API's probe stays short). */
const PROBE_MAX_MS = 1000;
/** Probes take at most about this share of the time: the next waits 20 × the last one's length. */
const PROBE_SPACING = 20;

/**
 * A baseline measurement: the calls admitted from `after` on are measured; when the first of
 * them was admitted, their round trips, and the estimate to go back to.
 */
interface Probe {
  readonly after: number;
  startedAt: number | undefined;
  readonly rtts: number[];
  readonly resume: number;
}

/**
 * A latency-gradient limit in the manner of Netflix's Gradient2Limit and Envoy's adaptive
 * concurrency filter: once per sample window it compares the window's average round trip
 * (short) with a baseline measured at low concurrency and moves the limit by their ratio:
 *
 *     gradient = clamp(tolerance × baseline / short, 0.5, 1) — and ≤ 1 − the window's drop share
 *     estimate = estimate × (1 − smoothing) + (estimate × gradient + √estimate) × smoothing
 *
 * While nothing queues, short ≈ baseline, the gradient is 1 and the limit grows by √limit ×
 * smoothing per window. Past the API's capacity, every extra call in flight only waits, so
 * the round trip grows with the limit and the gradient pulls it back: the limit settles where
 * the round trip is about `tolerance` × the baseline, with a queue of √limit on top — near
 * the capacity, latency near its unloaded value. Drops (refusals, timeouts, re-sends) are no
 * round trips: they are left out of the average, and a window where a share d of the calls
 * dropped scales the limit by at most 1 − d, so a few stray 503s cost little and an API that
 * refuses everything halves it.
 *
 * The baseline is what decides, so it is measured where it means something: with `minLimit`
 * calls in flight (1 by default), as Envoy measures its minRTT at `min_concurrency` — first when
 * the origin is new, then again every `baselineIntervalMs` while the limit is the bottleneck.
 * The probe lasts until `minWindowSamples` calls admitted under it came back (those admitted
 * before it would still be queued behind the old limit: they are left out), or 3 once it has
 * run for a second, takes their lower quartile, and the limit goes back to where it was; the
 * next probe waits at least 20 × this one's length, so probing costs a slow API little too. A baseline learnt from the loaded round trips instead (Gradient2's
 * exponential average) takes queueing for the normal: an origin that starts above its
 * capacity, or stays overloaded, settles with the queue it started with (an API of 5 workers
 * behind a starting limit of 20 held 36 in flight at 7 × its latency). Between probes a window
 * faster than the baseline lowers it at once (the API became faster). An API with room never
 * fills the limit: no probe after the first.
 *
 * A window in which fewer than half the limit were ever in flight leaves the limit alone: the
 * callers, not the API, held it back.
 */
export class GradientController implements LimitController {
  #estimate: number;
  #limit: number;
  /** The baseline round trip, ms; 0 until the first probe ended. */
  #baseline = 0;
  /** While the baseline is measured: who is measured, what came back, the estimate to go back to. */
  #probe: Probe | undefined;
  /** When the next probe may start (`performance.now()` clock). */
  #probeDueAt = 0;
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
    this.#startProbe(Number.NEGATIVE_INFINITY, settings.initialLimit);
  }

  get limit(): number {
    return this.#limit;
  }

  /** The baseline round trip, ms (0 before the first probe ended). */
  get baselineMs(): number {
    return this.#baseline;
  }

  onSample(now: number, startedAt: number, rttMs: number, inflight: number, drop: boolean): void {
    const probe = this.#probe;
    if (probe !== undefined) {
      // A probe measures only the calls admitted under its limit.
      if (startedAt < probe.after) return;
      probe.startedAt ??= startedAt;
      if (drop) this.#drops++;
      else probe.rtts.push(rttMs);
      const enough =
        now - probe.startedAt >= PROBE_MAX_MS
          ? Math.min(3, this.settings.minWindowSamples)
          : this.settings.minWindowSamples;
      if (probe.rtts.length >= enough || this.#drops >= enough) this.#endProbe(now, probe);
      return;
    }
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
    const appLimited = this.#peakInflight < this.#estimate / 2;
    this.#resetWindow();

    // No baseline yet (every call of the first probe dropped): measure it now calls come back.
    if (this.#baseline === 0 && samples > 0) {
      this.#startProbe(now + short, this.#estimate);
      return;
    }
    // The API became faster than the baseline says: take it at once.
    if (samples > 0 && short < this.#baseline) this.#baseline = short;
    if (appLimited) return;
    let gradient =
      samples > 0 && this.#baseline > 0
        ? Math.max(MIN_GRADIENT, Math.min(1, (tolerance * this.#baseline) / short))
        : MIN_GRADIENT;
    gradient = Math.min(gradient, Math.max(MIN_GRADIENT, 1 - drops / (samples + drops)));
    const estimate = this.#estimate;
    // Headroom to grow into only while nothing queues: once the round trip is past the
    // tolerance, a queue allowance would hold the limit above the capacity (√limit more in
    // flight is 2–4 × the latency of an API that serves one or two at a time).
    const target = gradient < 1 ? estimate * gradient : estimate + Math.sqrt(estimate);
    this.#estimate = Math.max(
      minLimit,
      Math.min(maxLimit, estimate * (1 - smoothing) + target * smoothing),
    );
    this.#limit = Math.floor(this.#estimate);
    // The limit is the bottleneck and the baseline is old: measure it again. The calls in
    // flight now were admitted under the old limit and keep the API's queue for about one
    // more round trip: only calls admitted after that are measured.
    if (full && samples > 0 && now >= this.#probeDueAt)
      this.#startProbe(now + short, this.#estimate);
  }

  #startProbe(after: number, resume: number): void {
    this.#probe = { after, startedAt: undefined, rtts: [], resume };
    this.#limit = this.settings.minLimit;
    this.#resetWindow();
  }

  #endProbe(now: number, probe: Probe): void {
    this.#probe = undefined;
    const took = now - (probe.startedAt ?? now);
    this.#probeDueAt = now + Math.max(this.settings.baselineIntervalMs, PROBE_SPACING * took);
    const rtts = probe.rtts.sort((a, b) => a - b);
    if (rtts.length > 0) this.#baseline = rtts[Math.floor(rtts.length / 4)]!;
    // Every call of the probe dropped: no baseline from it; come back at half.
    const resume = rtts.length > 0 ? probe.resume : probe.resume / 2;
    this.#estimate = Math.max(this.settings.minLimit, Math.min(this.settings.maxLimit, resume));
    this.#limit = Math.floor(this.#estimate);
    this.#resetWindow();
    this.#windowStart = now;
  }

  #resetWindow(): void {
    this.#full = false;
    this.#rttSum = 0;
    this.#samples = 0;
    this.#drops = 0;
    this.#peakInflight = 0;
    this.#windowStart = undefined;
  }

  onLimitReached(): void {
    this.#full = true;
  }
}

/**
 * The algorithms alone, without sockets or clocks: samples in, limits out. The gradient is
 * driven by a model of an API with `workers` parallel workers of `serviceMs` each and a queue
 * beyond them (the round trip at L calls in flight is serviceMs × max(1, L / workers)), the
 * model the loopback tests (adaptive-gradient.test.ts) run for real.
 */
import { describe, expect, it } from 'vitest';
import { NetworkError, TimeoutError } from '../../../packages/steadfast/src/errors.js';
import type { CallContext, Outcome } from '../../../packages/steadfast/src/pipeline/types.js';
import { AimdController } from '../../../packages/steadfast/src/strategies/adaptive-concurrency/aimd.js';
import { GradientController } from '../../../packages/steadfast/src/strategies/adaptive-concurrency/gradient.js';
import { sampleOf } from '../../../packages/steadfast/src/strategies/adaptive-concurrency/sample.js';
import { verdictOf } from '../../../packages/steadfast/src/strategies/adaptive-throttle/verdict.js';
import { ThrottleWindow } from '../../../packages/steadfast/src/strategies/adaptive-throttle/window.js';

const GRADIENT = {
  initialLimit: 10,
  minLimit: 1,
  maxLimit: 1000,
  windowMs: 500,
  minWindowSamples: 10,
  tolerance: 1.25,
  smoothing: 0.2,
  baselineIntervalMs: 30_000,
};

/** Drive `controller` through `windows` windows of the model API; returns the limits seen. */
function drive(
  controller: GradientController,
  api: { workers: number; serviceMs: number },
  windows: number,
  clock: { now: number },
): number[] {
  const limits: number[] = [];
  const perWindow = 50;
  for (let w = 0; w < windows; w++) {
    for (let i = 0; i < perWindow; i++) {
      clock.now += GRADIENT.windowMs / perWindow;
      const limit = controller.limit;
      const rtt = api.serviceMs * Math.max(1, limit / api.workers);
      // The callers want more than the limit: it is full.
      controller.onLimitReached();
      controller.onSample(clock.now, clock.now - rtt, rtt, limit, false);
    }
    limits.push(controller.limit);
  }
  return limits;
}

/** The median of the last `n` limits: where the limit sits, the probes' short dips aside. */
const settled = (limits: readonly number[], n = 60) => {
  const sorted = limits.slice(-n).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

describe('the gradient controller, against a model API', () => {
  it('grows while nothing queues, and settles just past the capacity (a √limit queue, the tolerance)', () => {
    const clock = { now: 0 };
    const gradient = new GradientController(GRADIENT);
    const limits = drive(gradient, { workers: 50, serviceMs: 20 }, 200, clock);
    expect(limits[20]!).toBeGreaterThan(10);
    // 1.25 × 50 / (1 − 1/√limit) ≈ 72: the tolerance and the √limit queue past 50 workers.
    expect(settled(limits)).toBeGreaterThanOrEqual(60);
    expect(settled(limits)).toBeLessThanOrEqual(80);
    // Every 30 windows with the limit full, one window at limit ÷ 2.5 re-measures the baseline.
    expect(Math.min(...limits.slice(-60))).toBeLessThan(35);
    expect(gradient.baselineMs).toBeGreaterThan(19);
    expect(gradient.baselineMs).toBeLessThan(26);
  });

  it('does not drift up under a lasting overload: the baseline is re-measured below the knee', () => {
    const clock = { now: 0 };
    const gradient = new GradientController(GRADIENT);
    const limits = drive(gradient, { workers: 50, serviceMs: 20 }, 5_000, clock);
    expect(Math.max(...limits.slice(-500))).toBeLessThanOrEqual(80);
    expect(gradient.baselineMs).toBeLessThan(26);
  });

  it('follows the API: down when it loses capacity, up when it gains it, the same level from above as from below', () => {
    const clock = { now: 0 };
    const gradient = new GradientController(GRADIENT);
    drive(gradient, { workers: 50, serviceMs: 20 }, 200, clock);
    // Slower for good and fewer workers: the baseline is re-measured at the new service time.
    const degraded = drive(gradient, { workers: 10, serviceMs: 60 }, 400, clock);
    expect(settled(degraded)).toBeGreaterThanOrEqual(10);
    expect(settled(degraded)).toBeLessThanOrEqual(20);
    const recovered = drive(gradient, { workers: 100, serviceMs: 10 }, 400, clock);
    expect(settled(recovered)).toBeGreaterThanOrEqual(100);
    expect(settled(recovered)).toBeLessThanOrEqual(150);
    // Started far above the capacity, it finds the same level.
    const fromAbove = drive(
      new GradientController({ ...GRADIENT, initialLimit: 500 }),
      { workers: 50, serviceMs: 20 },
      600,
      { now: 0 },
    );
    expect(settled(fromAbove)).toBeGreaterThanOrEqual(60);
    expect(settled(fromAbove)).toBeLessThanOrEqual(80);
  });

  it('cuts the limit by at most about 10 % per window of drops, and leaves it alone when the callers hold it back', () => {
    const gradient = new GradientController({ ...GRADIENT, initialLimit: 100 });
    let now = 0;
    const limits: number[] = [];
    const feed = (ms: number, inflight: number, drop: boolean) => {
      for (const end = now + ms; now < end; ) {
        now += 25;
        gradient.onSample(now, now - 20, 20, inflight, drop);
        limits.push(gradient.limit);
      }
    };
    feed(2_000, 100, false);
    const before = gradient.limit;
    limits.length = 0;
    feed(2_000, 100, true); // every call dropped: four windows
    expect(gradient.limit).toBeLessThan(0.8 * before);
    for (let i = 1; i < limits.length; i++)
      expect(limits[i]!).toBeGreaterThanOrEqual(Math.floor(0.88 * limits[i - 1]!));
    feed(600, 10, false); // closes the window the drops were in
    const dropped = gradient.limit;
    feed(2_000, 10, false); // 10 in flight of a limit of ~70: the callers held it back
    expect(gradient.limit).toBe(dropped);
  });
});

describe('the AIMD controller', () => {
  const settings = {
    initialLimit: 10,
    minLimit: 2,
    maxLimit: 12,
    backoffRatio: 0.5,
    latencyThresholdMs: 100,
  };

  it('adds one per limit of calls while the limit is in use, up to maxLimit', () => {
    const aimd = new AimdController(settings);
    for (let i = 0; i < 10; i++) aimd.onSample(i, i, 10, 10, false);
    expect(aimd.limit).toBe(11);
    for (let i = 0; i < 100; i++) aimd.onSample(i, i, 10, 12, false);
    expect(aimd.limit).toBe(12);
    // An unused limit does not grow.
    const idle = new AimdController(settings);
    for (let i = 0; i < 100; i++) idle.onSample(i, i, 10, 4, false);
    expect(idle.limit).toBe(10);
  });

  it('cuts by backoffRatio on a drop or a slow call, once per round, never below minLimit', () => {
    const aimd = new AimdController(settings);
    aimd.onSample(100, 50, 50, 10, true);
    expect(aimd.limit).toBe(5);
    aimd.onSample(101, 60, 41, 10, true); // admitted before the cut: no second cut
    expect(aimd.limit).toBe(5);
    aimd.onSample(300, 200, 100.5, 5, false); // slower than the threshold: a drop
    expect(aimd.limit).toBe(2);
    aimd.onSample(400, 350, 50, 2, true);
    expect(aimd.limit).toBe(2);
  });
});

describe('what a call tells the limit, and what an attempt tells the throttle', () => {
  const ctx = (attempt: number, attempts: number) => ({ attempt, attempts }) as CallContext;
  const answered = (status: number) =>
    ({ kind: 'response', response: { status, headers: {}, body: {} } }) as unknown as Outcome;
  const failed = (error: Error): Outcome => ({ kind: 'error', error });
  const timeout = new TimeoutError('GET', 'http://api.test/', 'attempt', 100);
  const reset = new NetworkError(
    'GET',
    'http://api.test/',
    'ECONNRESET',
    Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
  );

  it('a call sent once and answered is a round trip; overload, timeouts, network errors and re-sends are drops', () => {
    expect(sampleOf(ctx(0, 1), answered(200))).toBe('rtt');
    expect(sampleOf(ctx(0, 1), answered(404))).toBe('rtt');
    expect(sampleOf(ctx(0, 1), answered(500))).toBe('rtt');
    for (const status of [429, 503, 504])
      expect(sampleOf(ctx(0, 1), answered(status))).toBe('drop');
    expect(sampleOf(ctx(1, 2), answered(200))).toBe('drop');
    expect(sampleOf(ctx(0, 1), failed(timeout))).toBe('drop');
    expect(sampleOf(ctx(0, 1), failed(reset))).toBe('drop');
    expect(sampleOf(ctx(0, 0), failed(new Error('refused by a layer')))).toBe('none');
  });

  it('the backend refused an attempt with a 429, 503 or 504, a timeout or a failed connection; not one it never got', () => {
    expect(verdictOf(answered(200), true)).toBe('accepted');
    expect(verdictOf(answered(500), true)).toBe('accepted');
    for (const status of [429, 503, 504]) expect(verdictOf(answered(status), true)).toBe('refused');
    expect(verdictOf(failed(timeout), true)).toBe('refused');
    expect(verdictOf(failed(reset), true)).toBe('refused');
    expect(verdictOf(failed(timeout), false)).toBe('not_sent');
    expect(verdictOf(failed(new Error('hook')), true)).toBe('not_sent');
  });

  it('the throttle window forgets whole buckets as they age out', () => {
    const window = new ThrottleWindow(1_000, 10, 0);
    for (let i = 0; i < 10; i++) window.count(50, false);
    window.count(150, true);
    expect([window.requests, window.accepts]).toEqual([11, 1]);
    expect(window.rejectProbability(150, 2)).toBeCloseTo((11 - 2) / 12);
    // At 1 050 ms the first bucket ([0, 100) ms) is gone; at 1 150 the second.
    expect(window.rejectProbability(1_050, 2)).toBeCloseTo(0);
    expect([window.requests, window.accepts]).toEqual([1, 1]);
    window.rejectProbability(1_150, 2);
    expect(window.requests).toBe(0);
    expect(window.isEmpty(5_000)).toBe(true);
  });
});

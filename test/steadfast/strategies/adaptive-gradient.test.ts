import { describe, expect, it } from 'vitest';
import type { ConcurrencyLimitEvent } from '../../../packages/steadfast/src/index.js';
import { useHarness } from '../support.js';
import { closedLoop, median, sampleWhile, startCapacityApi } from './adaptive-capacity-api.js';

const h = useHarness();

// The API: 20 workers of 40 ms each, a FIFO queue beyond them — 500 calls/s at most, and
// every call in flight past 20 only waits. 200 callers call it in closed loops.
const WORKERS = 20;
const SERVICE_MS = 40;
const CALLERS = 200;
// A caller the limit refused waits this long before it calls again.
const BACKOFF_MS = 100;
// Windows of 100 ms instead of 500 so the limit finds its level in a few seconds.
const GRADIENT = { algorithm: 'gradient', initialLimit: 10, windowMs: 100 } as const;
// Room for every caller on the wire, so that with the fixed limit the API's queue is what grows.
const TRANSPORT = { connectionsPerOrigin: 256 };

describe('adaptive concurrency, gradient, against an API whose latency grows with its in-flight count', () => {
  it('settles the limit near the API capacity and keeps latency near its unloaded value, where a fixed limit of 1 000 lets latency balloon', async () => {
    const capacity = await startCapacityApi(WORKERS, SERVICE_MS);
    try {
      // What one call takes when nothing else is in flight.
      const probe = h.client(capacity.url, { transport: TRANSPORT });
      const alone: number[] = [];
      for (let i = 0; i < 15; i++) {
        const started = performance.now();
        await (await probe.fetch('/work')).text();
        alone.push(performance.now() - started);
      }
      const unloaded = median(alone);

      const adaptive = h.client(capacity.url, {
        concurrency: { queue: 0, adaptive: GRADIENT },
        transport: TRANSPORT,
      });
      const moves: ConcurrencyLimitEvent[] = [];
      adaptive.events.concurrencyLimit.event((e) => moves.push(e));
      const run = closedLoop(adaptive, '/work', CALLERS, 8_000, BACKOFF_MS);
      const limits = await sampleWhile(run, 100, () =>
        adaptive.concurrencyLimits.get(capacity.url),
      );
      const loaded = await run;
      const peakWithAdaptive = capacity.peakInflight;
      // The second half: the limit has found its level.
      const settledFrom = loaded.accepted[0]!.at + 4_000;
      const settled = loaded.accepted.filter((a) => a.at >= settledFrom);
      const settledLimit = median(limits.slice(-40) as number[]);

      const fixed = h.client(capacity.url, {
        concurrency: { limit: 1000, queue: 0 },
        transport: TRANSPORT,
      });
      const flooded = await closedLoop(fixed, '/work', CALLERS, 4_000, BACKOFF_MS);
      const floodedSettled = flooded.accepted.slice(Math.floor(flooded.accepted.length / 2));

      const report = {
        unloadedMs: Math.round(unloaded),
        adaptive: {
          settledLimit,
          medianMs: Math.round(median(settled.map((a) => a.latencyMs))),
          acceptedPerSecond: Math.round(settled.length / 4),
          refused: loaded.refused,
          apiPeakInflight: peakWithAdaptive,
        },
        fixed: {
          medianMs: Math.round(median(floodedSettled.map((a) => a.latencyMs))),
          apiPeakInflight: capacity.peakInflight,
        },
      };
      // The numbers, for the record (docs/adaptive-concurrency.md quotes a run).
      console.info('adaptive concurrency, gradient:', JSON.stringify(report));

      expect(loaded.failed).toBe(0);
      expect(settledLimit).toBeGreaterThanOrEqual(0.75 * WORKERS);
      // About 1.25 × 20 / (1 − 1/√limit) ≈ 32 — the tolerance and a √limit queue past the
      // workers — and more when a loaded machine adds its own delay to every round trip
      // (runs read 31–39).
      expect(settledLimit).toBeLessThanOrEqual(2.5 * WORKERS);
      expect(report.adaptive.medianMs).toBeLessThanOrEqual(3 * unloaded);
      expect(peakWithAdaptive).toBeLessThanOrEqual(3 * WORKERS);
      expect(moves.length).toBeGreaterThan(0);
      expect(moves.every((m) => m.origin === capacity.url && m.algorithm === 'gradient')).toBe(
        true,
      );

      expect(report.fixed.medianMs).toBeGreaterThanOrEqual(5 * unloaded);
      expect(capacity.peakInflight).toBeGreaterThan(CALLERS / 2);
    } finally {
      await capacity.close();
    }
  }, 40_000);
});

import { describe, expect, it } from 'vitest';
import { useHarness } from '../support.js';
import { closedLoop, median, sampleWhile, startCapacityApi } from './adaptive-capacity-api.js';

const h = useHarness();

// Windows of 100 ms, so that a few seconds are many windows (the default is 500 ms).
const GRADIENT = { algorithm: 'gradient', windowMs: 100 } as const;
const TRANSPORT = { connectionsPerOrigin: 256 };

describe('adaptive concurrency, gradient, when the API changes', () => {
  it('lowers the limit when the API loses capacity, and raises it again when the API gets faster', async () => {
    const api = await startCapacityApi(20, 40);
    try {
      const client = h.client(api.url, {
        concurrency: { queue: 0, adaptive: { ...GRADIENT, initialLimit: 10 } },
        transport: TRANSPORT,
      });
      const limit = () => client.concurrencyLimits.get(api.url) ?? 0;
      const phase = async (ms: number) => {
        const run = closedLoop(client, '/', 150, ms, 50);
        const limits = await sampleWhile(run, 100, limit);
        const result = await run;
        expect(result.failed).toBe(0);
        return median(limits.slice(-15)); // its last 1.5 s
      };

      const healthy = await phase(4_000);
      // Four workers left, each slower: the same limit would queue 5× deeper.
      api.setCapacity(4, 60);
      const degraded = await phase(5_000);
      // Scaled out and faster than before.
      api.setCapacity(30, 30);
      const recovered = await phase(7_000);
      console.info('adaptive concurrency, gradient, limits:', { healthy, degraded, recovered });

      expect(healthy).toBeGreaterThanOrEqual(15);
      expect(degraded).toBeLessThanOrEqual(12);
      expect(degraded).toBeLessThan(healthy / 2);
      // Near the new capacity (30), well above where it was.
      expect(recovered).toBeGreaterThanOrEqual(18);
      expect(recovered).toBeGreaterThanOrEqual(1.8 * degraded);
    } finally {
      await api.close();
    }
  }, 40_000);
});

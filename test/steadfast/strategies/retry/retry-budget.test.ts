import { describe, expect, it } from 'vitest';
import { isRetryBudgetExhaustedError } from '../../../../packages/steadfast/src/index.js';
import { FAST_RETRY, recordEvents, useHarness } from '../../support.js';

const h = useHarness();

const CALLS = 200;
const BUDGET = { ratio: 0.2, minRetriesPerSecond: 1, windowMs: 10_000 } as const;

/** Run `CALLS` calls, 10 at a time, against a server that always fails. */
async function hammer(fetchOnce: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < CALLS; i += 10) {
    await Promise.all(Array.from({ length: 10 }, () => fetchOnce()));
  }
  return performance.now() - started;
}

describe('retry budget', () => {
  it('keeps attempts per call near 1 + ratio when every call fails', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, {
      retry: { ...FAST_RETRY, maxRetries: 3, budget: BUDGET },
      circuitBreaker: false,
    });
    const events = recordEvents(client);

    const elapsedMs = await hammer(async () => {
      const res = await client.fetch('/x');
      // The budget ends the call with the last outcome: the 503 itself.
      expect(res.status).toBe(503);
    });

    // Allowed retries: ratio × calls, plus the floor (minRetriesPerSecond over the window,
    // and over the run's own duration in case the budget accrues it per second).
    const floor =
      BUDGET.minRetriesPerSecond * (BUDGET.windowMs / 1000 + Math.ceil(elapsedMs / 1000));
    const maxAttempts = CALLS * (1 + BUDGET.ratio) + floor;
    expect(server.requests.length).toBeLessThanOrEqual(maxAttempts);
    // Without a budget this run would make 4 × 200 = 800 attempts.
    expect(server.requests.length / CALLS).toBeLessThan(1.5);
    expect(events.giveUps.filter((e) => e.reason === 'budget_exhausted').length).toBeGreaterThan(0);
  });

  it('still retries a failing call while traffic is mostly healthy', async () => {
    // 1 call in 10 fails once: retries are 10 % of calls, under the 20 % budget.
    let n = 0;
    const server = await h.server((req) =>
      req.path === '/flaky' && n++ % 2 === 0 ? { status: 503 } : { status: 200 },
    );
    const client = h.client(server.url, {
      retry: { ...FAST_RETRY, budget: BUDGET },
      circuitBreaker: false,
    });
    const events = recordEvents(client);

    for (let i = 0; i < 100; i++) {
      const res = await client.fetch(i % 10 === 0 ? '/flaky' : '/ok');
      expect(res.status).toBe(200);
    }

    expect(events.retries).toHaveLength(10);
    expect(events.giveUps.filter((e) => e.reason === 'budget_exhausted')).toHaveLength(0);
  });

  it('lets a lone call use all its retries at low traffic (the floor)', async () => {
    const server = await h.server([
      { status: 503 },
      { status: 503 },
      { status: 503 },
      { status: 200 },
    ]);
    const client = h.client(server.url, {
      retry: {
        ...FAST_RETRY,
        maxRetries: 3,
        budget: { ratio: 0.2, minRetriesPerSecond: 10, windowMs: 10_000 },
      },
      circuitBreaker: false,
    });
    const events = recordEvents(client);

    const res = await client.fetch('/x');

    expect(res.status).toBe(200);
    expect(events.retries).toHaveLength(3);
  });

  it('says why on an error outcome: RetryBudgetExhaustedError, or the last error with a budget_exhausted give-up', async () => {
    const server = await h.server(() => 'reset');
    const client = h.client(server.url, {
      retry: { ...FAST_RETRY, maxRetries: 3, budget: { ...BUDGET, minRetriesPerSecond: 0 } },
      circuitBreaker: false,
    });
    const events = recordEvents(client);

    const errors: unknown[] = [];
    for (let i = 0; i < 20; i++) await client.fetch('/x').catch((e: unknown) => errors.push(e));

    expect(errors).toHaveLength(20);
    const budgetStops = events.giveUps.filter((e) => e.reason === 'budget_exhausted').length;
    expect(budgetStops).toBeGreaterThan(0);
    expect(server.requests.length).toBeLessThanOrEqual(20 * (1 + BUDGET.ratio) + 1);
    const typed = errors.filter(isRetryBudgetExhaustedError);
    if (typed.length > 0) expect(typed).toHaveLength(budgetStops);
  });

  it('lets a client without a budget retry every call (the amplification the budget prevents)', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, {
      retry: { ...FAST_RETRY, maxRetries: 3, budget: false },
      circuitBreaker: false,
    });

    for (let i = 0; i < 20; i++) await client.fetch('/x');

    expect(server.requests).toHaveLength(80);
  });
});

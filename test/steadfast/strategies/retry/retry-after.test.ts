import { describe, expect, it } from 'vitest';
import { FAST_RETRY, recordEvents, useHarness } from '../../support.js';

const h = useHarness();

describe('Retry-After', () => {
  it.each([429, 503])(
    'waits the delta-seconds of a %i Retry-After instead of the backoff',
    async (status) => {
      const server = await h.server([
        { status, headers: { 'retry-after': '1' } },
        { status: 200, body: 'ok' },
      ]);
      const client = h.client(server.url);
      const events = recordEvents(client);

      const res = await client.fetch('/x');

      expect(res.status).toBe(200);
      expect(server.requests).toHaveLength(2);
      expect(events.retries).toHaveLength(1);
      expect(events.retries[0]?.delaySource).toBe('retry_after');
      expect(events.retries[0]?.delayMs).toBeGreaterThanOrEqual(1000);
      expect(events.retries[0]?.delayMs).toBeLessThan(1500);
    },
  );

  it('waits until an HTTP-date Retry-After', async () => {
    // HTTP-dates have one-second resolution: 2 s ahead is between 1 and 2 s from now.
    const at = new Date(Date.now() + 2000).toUTCString();
    const server = await h.server([
      { status: 503, headers: { 'retry-after': at } },
      { status: 200 },
    ]);
    const client = h.client(server.url);
    const events = recordEvents(client);

    const res = await client.fetch('/x');

    expect(res.status).toBe(200);
    expect(events.retries[0]?.delaySource).toBe('retry_after');
    expect(events.retries[0]?.delayMs).toBeGreaterThan(500);
    expect(events.retries[0]?.delayMs).toBeLessThanOrEqual(2000);
  });

  it('retries at once for an HTTP-date in the past', async () => {
    const at = new Date(Date.now() - 60_000).toUTCString();
    const server = await h.server([
      { status: 503, headers: { 'retry-after': at } },
      { status: 200 },
    ]);
    const client = h.client(server.url);
    const events = recordEvents(client);

    const res = await client.fetch('/x');

    expect(res.status).toBe(200);
    expect(events.retries[0]?.delayMs).toBeLessThanOrEqual(FAST_RETRY.baseDelayMs);
  });

  it('falls back to the backoff for a Retry-After it cannot parse', async () => {
    const server = await h.server([
      { status: 503, headers: { 'retry-after': 'soon, maybe' } },
      { status: 200 },
    ]);
    const client = h.client(server.url);
    const events = recordEvents(client);

    const res = await client.fetch('/x');

    expect(res.status).toBe(200);
    expect(events.retries[0]?.delaySource).toBe('backoff');
    expect(events.retries[0]?.delayMs).toBe(FAST_RETRY.baseDelayMs);
  });

  it.each([
    ['5', 300],
    ['2', 1_999],
    ['60', 30_000],
  ])(
    'returns the response at once, never re-sending early, for Retry-After: %s past maxRetryAfterMs %i',
    async (retryAfter, maxRetryAfterMs) => {
      const server = await h.server([
        { status: 429, headers: { 'retry-after': retryAfter }, body: 'slow down' },
        { status: 200 },
      ]);
      const client = h.client(server.url, { retry: { ...FAST_RETRY, maxRetryAfterMs } });
      const events = recordEvents(client);

      const res = await client.fetch('/x');

      expect(res.status).toBe(429);
      expect(await res.text()).toBe('slow down');
      expect(server.requests).toHaveLength(1);
      expect(events.retries).toHaveLength(0);
      expect(events.giveUps.map((e) => e.reason)).toEqual(['retry_after_too_long']);
    },
  );

  it('waits the whole Retry-After when it is within maxRetryAfterMs', async () => {
    const server = await h.server([
      { status: 503, headers: { 'retry-after': '1' } },
      { status: 200 },
    ]);
    const client = h.client(server.url, { retry: { ...FAST_RETRY, maxRetryAfterMs: 1_000 } });

    const res = await client.fetch('/x');

    expect(res.status).toBe(200);
    const [first, second] = server.requests;
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(990);
  });

  it('returns the 503 at once when its Retry-After would pass the deadline', async () => {
    const server = await h.server([
      { status: 503, headers: { 'retry-after': '30' }, body: 'busy' },
      { status: 200 },
    ]);
    const client = h.client(server.url, { totalTimeoutMs: 5_000, attemptTimeoutMs: 2_000 });
    const events = recordEvents(client);

    const started = performance.now();
    const res = await client.fetch('/x');
    const elapsed = performance.now() - started;

    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(await res.text()).toBe('busy');
    expect(server.requests).toHaveLength(1);
    expect(events.retries).toHaveLength(0);
    expect(events.giveUps.map((e) => e.reason)).toEqual(['deadline']);
    expect(elapsed).toBeLessThan(2000);
  });

  it('returns the 429 at once when an HTTP-date Retry-After is past the deadline', async () => {
    const at = new Date(Date.now() + 20_000).toUTCString();
    const server = await h.server([
      { status: 429, headers: { 'retry-after': at } },
      { status: 200 },
    ]);
    const client = h.client(server.url, { totalTimeoutMs: 3_000, attemptTimeoutMs: 1_000 });

    const started = performance.now();
    const res = await client.fetch('/x');

    expect(res.status).toBe(429);
    expect(server.requests).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

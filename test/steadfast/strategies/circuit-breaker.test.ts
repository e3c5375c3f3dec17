import { describe, expect, it } from 'vitest';
import { CircuitOpenError, isCircuitOpenError } from '../../../packages/steadfast/src/index.js';
import type { ScriptedServer } from '../../helpers/http-server.js';
import { FAST_RETRY, recordEvents, rejectionOf, sleep, useHarness } from '../support.js';

const h = useHarness();

/** A breaker that opens after 4 calls when half of them failed, and half-opens after 200 ms. */
const SMALL_BREAKER = {
  failureRatio: 0.5,
  minimumThroughput: 4,
  samplingDurationMs: 10_000,
  breakDurationMs: 200,
} as const;

const breakerClient = (server: ScriptedServer, retry: unknown = false) =>
  h.client(server.url, {
    retry: retry as never,
    attemptTimeoutMs: 1_000,
    totalTimeoutMs: 5_000,
    circuitBreaker: SMALL_BREAKER,
  });

describe('circuit breaker', () => {
  it('opens after minimumThroughput transient failures and then fails fast without sending', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = breakerClient(server);
    const events = recordEvents(client);

    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await client.fetch('/x')).status);
    const error = await rejectionOf(client.fetch('/x'));

    expect(statuses).toEqual([503, 503, 503, 503]);
    expect(isCircuitOpenError(error)).toBe(true);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).code).toBe('ERR_STEADFAST_CIRCUIT_OPEN');
    expect((error as CircuitOpenError).origin).toBe(server.url);
    expect(server.requests).toHaveLength(4);
    expect(events.transitions.map((t) => [t.from, t.to])).toEqual([['closed', 'open']]);
    expect(events.transitions[0]?.origin).toBe(server.url);
    expect(events.breakerRejections).toHaveLength(1);
  });

  it('stays closed while the failure ratio is under the threshold', async () => {
    // 1 failure in 4 = 25 % < 50 %: 5 failures in 20 calls, past minimumThroughput, so the
    // successes must be counted for the breaker to stay closed.
    const server = await h.server((_r, i) => (i % 4 === 0 ? { status: 503 } : { status: 200 }));
    const client = breakerClient(server);
    const events = recordEvents(client);

    for (let i = 0; i < 20; i++) await client.fetch('/x');

    expect(server.requests).toHaveLength(20);
    expect(events.transitions).toHaveLength(0);
  });

  it('opens when failures pass the ratio among successes', async () => {
    // 3 failures in every 4 calls = 75 % > 50 %.
    const server = await h.server((_r, i) => (i % 4 === 3 ? { status: 200 } : { status: 503 }));
    const client = breakerClient(server);
    const events = recordEvents(client);

    for (let i = 0; i < 8; i++) await client.fetch('/x').catch(() => undefined);

    expect(events.transitions.map((t) => [t.from, t.to])).toEqual([['closed', 'open']]);
    expect(server.requests.length).toBeLessThan(8);
  });

  it('does not retry an open-circuit rejection', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const withRetry = breakerClient(server, { ...FAST_RETRY, maxRetries: 3 });
    const events = recordEvents(withRetry);
    // One call = 4 failed attempts = the threshold: the breaker opens on the last one.
    const first = await withRetry.fetch('/x');
    const sentBefore = server.requests.length;

    const error = await rejectionOf(withRetry.fetch('/x'));

    expect(first.status).toBe(503);
    expect(isCircuitOpenError(error)).toBe(true);
    expect(server.requests.length).toBe(sentBefore);
    // Only the first call's 3 retries; the rejected call scheduled none.
    expect(events.retries).toHaveLength(3);
  });

  it('counts every retried attempt, so retries inside one call can open it', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = breakerClient(server, { ...FAST_RETRY, maxRetries: 5 });
    const events = recordEvents(client);

    const result = await client.fetch('/x').then(
      (res) => res.status,
      (error: unknown) => error,
    );

    // The 5th attempt finds the breaker open after 4 failed attempts.
    expect(server.requests).toHaveLength(4);
    expect(isCircuitOpenError(result)).toBe(true);
    expect(events.transitions.map((t) => t.to)).toEqual(['open']);
  });

  it('half-opens after breakDurationMs, lets one probe through, and closes when it succeeds', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = breakerClient(server);
    const events = recordEvents(client);
    for (let i = 0; i < 4; i++) await client.fetch('/x');
    expect(isCircuitOpenError(await rejectionOf(client.fetch('/x')))).toBe(true);

    server.setScript(() => ({ status: 200, body: 'healthy' }));
    await sleep(SMALL_BREAKER.breakDurationMs + 100);
    const probe = await client.fetch('/x');
    const after = await client.fetch('/x');

    expect(probe.status).toBe(200);
    expect(after.status).toBe(200);
    expect(server.requests).toHaveLength(6);
    expect(events.transitions.map((t) => [t.from, t.to])).toEqual([
      ['closed', 'open'],
      ['open', 'half_open'],
      ['half_open', 'closed'],
    ]);
  });

  it('re-opens when the half-open probe fails', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = breakerClient(server);
    const events = recordEvents(client);
    for (let i = 0; i < 4; i++) await client.fetch('/x');

    await sleep(SMALL_BREAKER.breakDurationMs + 100);
    const probe = await client.fetch('/x');
    const error = await rejectionOf(client.fetch('/x'));

    expect(probe.status).toBe(503);
    expect(isCircuitOpenError(error)).toBe(true);
    expect(server.requests).toHaveLength(5);
    expect(events.transitions.map((t) => t.to)).toEqual(['open', 'half_open', 'open']);
  });

  it('lets only one probe through while half-open', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = breakerClient(server);
    for (let i = 0; i < 4; i++) await client.fetch('/x');
    await sleep(SMALL_BREAKER.breakDurationMs + 100);
    server.setScript(() => ({ status: 200, delayMs: 200 }));

    const results = await Promise.allSettled([
      client.fetch('/x'),
      client.fetch('/x'),
      client.fetch('/x'),
    ]);

    expect(server.requests).toHaveLength(5);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect(isCircuitOpenError(r.reason)).toBe(true);
  });

  it.each([400, 401, 403, 404, 409, 422])('is never tripped by %i responses', async (status) => {
    const server = await h.server(() => ({ status }));
    const client = breakerClient(server);
    const events = recordEvents(client);

    for (let i = 0; i < 12; i++) expect((await client.fetch('/x')).status).toBe(status);

    expect(server.requests).toHaveLength(12);
    expect(events.transitions).toHaveLength(0);
  });

  it('counts network errors as failures', async () => {
    const server = await h.server(() => 'reset');
    const client = breakerClient(server);

    for (let i = 0; i < 4; i++) await rejectionOf(client.fetch('/x'));
    const error = await rejectionOf(client.fetch('/x'));

    expect(isCircuitOpenError(error)).toBe(true);
    expect(server.requests).toHaveLength(4);
  });

  it('keeps one breaker per origin: a failing origin does not block a healthy one', async () => {
    const failing = await h.server(() => ({ status: 503 }));
    const healthy = await h.server(() => ({ status: 200, body: 'fine' }));
    const client = breakerClient(failing);
    const events = recordEvents(client);

    for (let i = 0; i < 4; i++) await client.fetch('/x');
    const blocked = await rejectionOf(client.fetch('/x'));
    const other = await client.fetch(`${healthy.url}/y`);

    expect(isCircuitOpenError(blocked)).toBe(true);
    expect(other.status).toBe(200);
    expect(await other.text()).toBe('fine');
    expect(healthy.requests).toHaveLength(1);
    expect(events.transitions.map((t) => t.origin)).toEqual([failing.url]);
  });

  it('is not involved at all when disabled', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, { retry: false, circuitBreaker: false });

    for (let i = 0; i < 20; i++) expect((await client.fetch('/x')).status).toBe(503);

    expect(server.requests).toHaveLength(20);
  });
});

// Only transient failures count toward opening the breaker, never a 4xx. 408 and 429 are
// transient for retry, but they describe this request or this client's rate, not the
// origin's health: they must not open the breaker either (docs/pipeline.md).
describe('circuit breaker and transient 4xx (retried, never counted)', () => {
  it.each([408, 429])('is not tripped by %i responses', async (status) => {
    const server = await h.server(() => ({ status }));
    const client = breakerClient(server);
    const events = recordEvents(client);

    for (let i = 0; i < 12; i++) expect((await client.fetch('/x')).status).toBe(status);

    expect(server.requests).toHaveLength(12);
    expect(events.transitions).toHaveLength(0);
  });
});

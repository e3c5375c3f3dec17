/**
 * The typed events telemetry subscribes to (docs/telemetry.md): one call start/end per logical
 * call, one attempt start/end per wire attempt — with the attempt number and `error.type` —
 * and nothing for attempts that never reached the wire.
 */
import { describe, expect, it } from 'vitest';
import type {
  AttemptEndEvent,
  AttemptStartEvent,
  CallEndEvent,
  CallStartEvent,
} from '../../../packages/steadfast/src/pipeline/events.js';
import { closedPort } from '../../helpers/http-server.js';
import { type Client, FAST_RETRY, recordEvents, rejectionOf, useHarness } from '../support.js';

const h = useHarness();

function recordCalls(client: Client) {
  const seen = {
    callStarts: [] as CallStartEvent[],
    callEnds: [] as CallEndEvent[],
    attemptStarts: [] as AttemptStartEvent[],
    attemptEnds: [] as AttemptEndEvent[],
  };
  client.events.callStart.event((e) => seen.callStarts.push(e));
  client.events.callEnd.event((e) => seen.callEnds.push(e));
  client.events.attemptStart.event((e) => seen.attemptStarts.push(e));
  client.events.attemptEnd.event((e) => seen.attemptEnds.push(e));
  return seen;
}

describe('call and attempt events', () => {
  it('announce one call and each wire attempt with its number and error type', async () => {
    const server = await h.server([{ status: 503 }, { status: 503 }, { status: 200 }]);
    const client = h.client(server.url);
    const seen = recordCalls(client);

    await (await client.fetch('/x')).text();

    expect(seen.callStarts).toHaveLength(1);
    expect(seen.callEnds).toHaveLength(1);
    expect(seen.attemptStarts.map((e) => e.attempt)).toEqual([0, 1, 2]);
    expect(seen.attemptEnds.map((e) => [e.attempt, e.errorType])).toEqual([
      [0, '503'],
      [1, '503'],
      [2, undefined],
    ]);
    const end = seen.callEnds[0]!;
    expect(end.outcome.kind === 'response' && end.outcome.response.status).toBe(200);
    expect(end.durationMs).toBeGreaterThanOrEqual(0);
    expect(end.ctx).toBe(seen.callStarts[0]!.ctx);
    expect(end.ctx.attempts).toBe(3);
  });

  it('name network errors and the SDK’s timeouts in error types', async () => {
    const port = await closedPort();
    const refused = h.client(`http://127.0.0.1:${port}`, { retry: false });
    const refusedSeen = recordCalls(refused);
    const hanging = await h.server(() => 'hang');
    const timingOut = h.client(hanging.url, { retry: false, attemptTimeoutMs: 100 });
    const timeoutSeen = recordCalls(timingOut);

    await rejectionOf(refused.fetch('/x'));
    await rejectionOf(timingOut.fetch('/x'));

    expect(refusedSeen.attemptEnds.map((e) => e.errorType)).toEqual(['ECONNREFUSED']);
    expect(timeoutSeen.attemptEnds.map((e) => e.errorType)).toEqual(['timeout']);
  });

  it('do not count a caller abort as an error', async () => {
    const server = await h.server(() => 'hang');
    const client = h.client(server.url);
    const seen = recordCalls(client);
    const controller = new AbortController();

    const call = rejectionOf(client.fetch('/x', { signal: controller.signal }));
    await server.waitForRequests(1);
    controller.abort();
    await call;

    expect(seen.attemptEnds.map((e) => e.errorType)).toEqual([undefined]);
    expect(seen.callEnds).toHaveLength(1);
  });

  it('announce no attempt for a call the concurrency limiter rejected', async () => {
    const server = await h.server(() => ({ status: 200, delayMs: 200 }));
    const client = h.client(server.url, { concurrency: { limit: 1, queue: 0 } });
    const seen = recordCalls(client);
    const events = recordEvents(client);

    const busy = client.fetch('/busy');
    await server.waitForRequests(1);
    await rejectionOf(client.fetch('/rejected'));
    await (await busy).text();

    expect(seen.callStarts).toHaveLength(2);
    expect(seen.callEnds).toHaveLength(2);
    expect(seen.attemptStarts.map((e) => e.ctx.url.pathname)).toEqual(['/busy']);
    expect(events.limiter.filter((e) => e.rejected).map((e) => e.limit)).toEqual([1]);
  });

  it('announce no wire attempt for an attempt the open breaker short-circuited', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, {
      retry: { ...FAST_RETRY, maxRetries: 0 },
      attemptTimeoutMs: 1_000,
      circuitBreaker: {
        failureRatio: 0.5,
        minimumThroughput: 2,
        samplingDurationMs: 10_000,
        breakDurationMs: 10_000,
      },
    });
    const seen = recordCalls(client);
    const events = recordEvents(client);

    await client.fetch('/x');
    await client.fetch('/x');
    await rejectionOf(client.fetch('/x'));

    expect(seen.callEnds).toHaveLength(3);
    expect(seen.attemptStarts).toHaveLength(2);
    expect(seen.attemptEnds).toHaveLength(2);
    expect(events.breakerRejections).toHaveLength(1);
    expect(server.requests).toHaveLength(2);
  });
});

import { describe, expect, it } from 'vitest';
import { buildCallPipeline } from '../../../packages/steadfast/src/call-pipeline.js';
import { resolveOptions } from '../../../packages/steadfast/src/config/validate.js';
import {
  type CallContext,
  CircuitOpenError,
  createClient,
  FallbackError,
  HttpStatusError,
  InvalidConfigurationError,
  isAbortError,
  isClientClosedError,
  isConcurrencyLimitedError,
  isFallbackError,
  isNetworkError,
  isTimeoutError,
  NetworkError,
  type Outcome,
  ResponseTooLargeError,
} from '../../../packages/steadfast/src/index.js';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import type { FallbackEvent } from '../../../packages/steadfast/src/pipeline/events.js';
import { callErrorTypeOf } from '../../../packages/steadfast/src/telemetry/attributes.js';
import { closedPort } from '../../helpers/http-server.js';
import {
  type Client,
  type ClientOptions,
  FAST_RETRY,
  NO_TELEMETRY,
  rejectionOf,
  useHarness,
} from '../support.js';

const h = useHarness();

function fallbackEvents(client: Client): FallbackEvent[] {
  const seen: FallbackEvent[] = [];
  client.events.fallback.event((e) => seen.push(e));
  return seen;
}

const said = (events: FallbackEvent[]) =>
  events.map(({ kind, trigger, served }) => ({ kind, trigger, served }));

/** What a handler was called with. */
interface HandlerCall {
  readonly path: string;
  readonly outcome: Outcome;
  readonly trigger: string;
}

/** A handler answering `answer`, recording its calls. */
function recordingHandler(answer: (ctx: CallContext, outcome: Outcome) => unknown) {
  const calls: HandlerCall[] = [];
  const handler = (ctx: CallContext, outcome: Outcome, trigger: string) => {
    calls.push({ path: ctx.path, outcome, trigger });
    return answer(ctx, outcome);
  };
  return { calls, handler };
}

describe('fallback handler', () => {
  it('answers with a value as a JSON 200 marked handler, in place of a 5xx after every retry', async () => {
    const server = await h.server(() => ({ status: 503, body: 'down for maintenance' }));
    const { calls, handler } = recordingHandler(() => ({ forecast: [], source: 'default' }));
    const client = h.client(server.url, {
      retry: { ...FAST_RETRY, maxRetries: 2 },
      fallback: { handler, serveStale: false },
    });
    const events = fallbackEvents(client);

    const answer = await client.fetch('/forecast');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-steadfast-fallback')).toBe('handler');
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(await answer.json()).toEqual({ forecast: [], source: 'default' });
    expect(server.requests).toHaveLength(3); // the retries ran first
    expect(calls).toHaveLength(1);
    expect(calls[0]!.trigger).toBe('server_error');
    expect(calls[0]!.outcome.kind === 'response' && calls[0]!.outcome.response.status).toBe(503);
    expect(said(events)).toEqual([{ kind: 'handler', trigger: '503', served: true }]);
    expect(await client.getJson('/forecast')).toEqual({ forecast: [], source: 'default' });
  });

  it('answers with a Response as it is: status, headers, body, marked handler', async () => {
    const port = await closedPort();
    const client = h.client(`http://127.0.0.1:${port}`, {
      retry: false,
      fallback: {
        serveStale: false,
        handler: () =>
          new Response('cached elsewhere', {
            status: 203,
            statusText: 'From Handler',
            headers: { 'content-type': 'text/plain', 'x-source': 'disk' },
          }),
      },
    });
    const answer = await client.fetch('/forecast');
    expect(answer.status).toBe(203);
    expect(answer.statusText).toBe('From Handler');
    expect(answer.headers.get('x-source')).toBe('disk');
    expect(answer.headers.get('x-steadfast-fallback')).toBe('handler');
    expect(await answer.text()).toBe('cached elsewhere');
  });

  it("bounds a handler Response's body read whole by the call's maxResponseBytes, and streams it past", async () => {
    const port = await closedPort();
    const big = 'x'.repeat(200 * 1024);
    const client = h.client(`http://127.0.0.1:${port}`, {
      retry: false,
      maxResponseBytes: 1024,
      fallback: { serveStale: false, handler: () => new Response(big) },
    });
    await expect((await client.fetch('/a')).text()).rejects.toBeInstanceOf(ResponseTooLargeError);
    let streamed = 0;
    for await (const chunk of (await client.request('/b')).body) streamed += chunk.length;
    expect(streamed).toBe(big.length);
  });

  it('lets the failure stand when the handler returns undefined, and says it served nothing', async () => {
    const server = await h.server(() => ({ status: 502, body: 'bad gateway' }));
    const client = h.client(server.url, {
      retry: false,
      fallback: { serveStale: false, handler: () => undefined },
    });
    const events = fallbackEvents(client);
    const answer = await client.fetch('/x');
    expect(answer.status).toBe(502);
    expect(answer.headers.get('x-steadfast-fallback')).toBeNull();
    expect(await answer.text()).toBe('bad gateway'); // the body is the caller's, untouched
    expect(said(events)).toEqual([{ kind: 'handler', trigger: '502', served: false }]);
  });

  it('ends the call with FallbackError when the handler throws, the original failure as its cause', async () => {
    const port = await closedPort();
    const thrown = new Error('handler bug');
    const client = h.client(`http://127.0.0.1:${port}`, {
      retry: false,
      fallback: {
        serveStale: false,
        handler: async () => {
          throw thrown;
        },
      },
    });
    const events = fallbackEvents(client);
    // The call's error.type, as the call metrics and span read it.
    const errorTypes: (string | undefined)[] = [];
    client.events.callEnd.event((e) => errorTypes.push(callErrorTypeOf(e.ctx, e.outcome)));
    const error = await rejectionOf(
      client.fetch('/x?token=s3cr3t', { headers: { authorization: 'Bearer s3cr3t' } }),
    );
    expect(errorTypes).toEqual(['fallback_error']);
    expect(isFallbackError(error)).toBe(true);
    const failure = error as FallbackError;
    expect(failure.code).toBe('ERR_STEADFAST_FALLBACK');
    expect(failure.cause).toBeInstanceOf(NetworkError);
    expect((failure.cause as NetworkError).errorCode).toBe('ECONNREFUSED');
    expect(failure.handlerError).toBe(thrown);
    expect(failure.trigger).toBe('ECONNREFUSED');
    expect(failure.message).toBe(
      `GET http://127.0.0.1:${port}/x?…: failed (ECONNREFUSED) and the fallback handler threw; the original failure is the cause`,
    );
    expect(said(events)).toEqual([{ kind: 'handler', trigger: 'ECONNREFUSED', served: false }]);
    const { ctx: _ctx, ...described } = events[0]!;
    expect(JSON.stringify(described)).not.toContain('s3cr3t');
    expect(failure.message).not.toContain('s3cr3t');
  });

  it('keeps a failed response as an HttpStatusError cause when the handler throws, and discards its body', async () => {
    const server = await h.server(() => ({
      status: 503,
      headers: { 'retry-after': '120' },
      body: Buffer.alloc(1024 * 1024, 'x'), // past 64 KiB unread, the socket pauses
    }));
    const client = h.client(server.url, {
      retry: false,
      // One connection: a failed response whose body nobody dumped would hold it for good.
      transport: { connectionsPerOrigin: 1 },
      attemptTimeoutMs: 2_000,
      totalTimeoutMs: 5_000,
      fallback: {
        serveStale: false,
        handler: () => {
          throw new Error('no default either');
        },
      },
    });
    for (let i = 0; i < 5; i++) {
      const error = (await rejectionOf(client.fetch('/x'))) as FallbackError;
      expect(error).toBeInstanceOf(FallbackError);
      expect(error.cause).toBeInstanceOf(HttpStatusError);
      expect((error.cause as HttpStatusError).status).toBe(503);
      expect((error.cause as HttpStatusError).headers.get('retry-after')).toBe('120');
    }
    expect(server.requests).toHaveLength(5);
  });

  it('ends the call with FallbackError for a value JSON cannot represent, a used Response or Response.error()', async () => {
    const port = await closedPort();
    const used = new Response('once');
    await used.text();
    const answers: unknown[] = [10n, () => 'a function', used, Response.error()];
    const client = h.client(`http://127.0.0.1:${port}`, {
      retry: false,
      fallback: { serveStale: false, handler: () => answers.shift() },
    });
    for (const detail of [
      'returned a value JSON cannot represent',
      'returned a value JSON cannot represent',
      'returned a Response that cannot be served (an error, or its body already read)',
      'returned a Response that cannot be served (an error, or its body already read)',
    ]) {
      const error = (await rejectionOf(client.fetch('/x'))) as FallbackError;
      expect(error).toBeInstanceOf(FallbackError);
      expect(error.message).toContain(detail);
      expect(isNetworkError(error.cause)).toBe(true);
    }
  });

  it('serves stale first, and calls the handler only when no entry fits', async () => {
    let failing = false;
    const server = await h.server(() =>
      failing ? { status: 500 } : { status: 200, body: 'good' },
    );
    const { calls, handler } = recordingHandler(() => 'from the handler');
    const client = h.client(server.url, { retry: false, fallback: { handler } });
    const events = fallbackEvents(client);
    await (await client.fetch('/known')).text();
    failing = true;

    expect(await (await client.fetch('/known')).text()).toBe('good');
    expect(calls).toHaveLength(0);
    expect(await (await client.fetch('/unknown')).json()).toBe('from the handler');
    expect(calls.map((c) => c.path)).toEqual(['/unknown']);
    expect(said(events)).toEqual([
      { kind: 'stale', trigger: '500', served: true },
      { kind: 'stale', trigger: '500', served: false },
      { kind: 'handler', trigger: '500', served: true },
    ]);
  });
});

describe('fallback triggers', () => {
  it('answers an attempt timeout, a refused connection, a final 429 and a full concurrency limit', async () => {
    const server = await h.server((request) =>
      request.path === '/slow'
        ? { status: 200, delayMs: 2_000 }
        : request.path === '/busy'
          ? { status: 429, headers: { 'retry-after': '3600' } }
          : { status: 200, delayMs: 1_500 },
    );
    const port = await closedPort();
    const { calls, handler } = recordingHandler(() => 'fallback');
    const client = h.client(server.url, {
      retry: false,
      attemptTimeoutMs: 100,
      totalTimeoutMs: 5_000,
      concurrency: { limit: 1, queue: 0 },
      fallback: { handler, serveStale: false },
    });
    const events = fallbackEvents(client);

    expect(await (await client.fetch('/slow')).json()).toBe('fallback');
    expect(await (await client.fetch(`http://127.0.0.1:${port}/refused`)).json()).toBe('fallback');
    expect(await (await client.fetch('/busy')).json()).toBe('fallback');
    const first = client.fetch('/held', { attemptTimeoutMs: 4_000 }); // takes the one slot
    await server.waitForRequests(3); // /slow, /busy, /held
    expect(await (await client.fetch('/limited')).json()).toBe('fallback');
    expect((await first).status).toBe(200);

    expect(calls.map((c) => [c.path, c.trigger])).toEqual([
      ['/slow', 'timeout'],
      ['/refused', 'network'],
      ['/busy', 'rate_limited'],
      ['/limited', 'concurrency_limited'],
    ]);
    expect(isTimeoutError(calls[0]!.outcome.kind === 'error' && calls[0]!.outcome.error)).toBe(
      true,
    );
    expect(
      isConcurrencyLimitedError(calls[3]!.outcome.kind === 'error' && calls[3]!.outcome.error),
    ).toBe(true);
    expect(events.map((e) => e.trigger)).toEqual([
      'timeout',
      'ECONNREFUSED',
      '429',
      'concurrency_limited',
    ]);
  });

  it('answers a retry budget that ran out for the failure it stopped on', async () => {
    const port = await closedPort();
    const { calls, handler } = recordingHandler(() => 'fallback');
    const client = h.client(`http://127.0.0.1:${port}`, {
      retry: {
        ...FAST_RETRY,
        budget: { ratio: 0, minRetriesPerSecond: 0 },
      },
      fallback: { handler, serveStale: false, on: ['network'] },
    });
    expect(await (await client.fetch('/x')).json()).toBe('fallback');
    expect(calls.map((c) => c.trigger)).toEqual(['network']);
  });

  it('lets every outcome it does not name pass untouched', async () => {
    const server = await h.server((request) =>
      request.path === '/teapot' ? { status: 418 } : { status: 503, body: 'down' },
    );
    const port = await closedPort();
    const { calls, handler } = recordingHandler(() => 'fallback');
    const client = h.client(server.url, {
      retry: false,
      fallback: { handler, on: ['circuit_open'] },
    });
    const events = fallbackEvents(client);

    const down = await client.fetch('/down');
    expect(down.status).toBe(503);
    expect(await down.text()).toBe('down');
    expect((await client.fetch('/teapot')).status).toBe(418); // a 4xx is never a trigger
    expect(isNetworkError(await rejectionOf(client.fetch(`http://127.0.0.1:${port}/`)))).toBe(true);
    expect(calls).toEqual([]);
    expect(events).toEqual([]);
  });

  it("never answers for a caller's abort, nor for a call the client's close ended", async () => {
    const server = await h.server(() => 'hang');
    const { calls, handler } = recordingHandler(() => 'fallback');
    const client = h.client(server.url, { retry: false, fallback: { handler } });

    const controller = new AbortController();
    const aborted = client.fetch('/aborted', { signal: controller.signal });
    await server.waitForRequests(1);
    controller.abort();
    expect(isAbortError(await rejectionOf(aborted))).toBe(true);

    const timedOut = client.fetch('/timed-out', { signal: AbortSignal.timeout(50) });
    expect(isTimeoutError(await rejectionOf(timedOut))).toBe(true); // the caller's own signal

    // Handled from the start: close() may take a few ticks after ending it.
    const inFlight = rejectionOf(client.fetch('/in-flight'));
    await server.waitForRequests(3);
    await client.close();
    expect(isClientClosedError(await inFlight)).toBe(true);
    expect(calls).toEqual([]);
  });

  it('answers an open breaker through the handler when nothing is stale', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, {
      retry: false,
      circuitBreaker: {
        failureRatio: 0.5,
        minimumThroughput: 2,
        samplingDurationMs: 60_000,
        breakDurationMs: 60_000,
      },
      fallback: {
        on: ['circuit_open'],
        handler: (_ctx, outcome) =>
          outcome.kind === 'error' && outcome.error instanceof CircuitOpenError
            ? { degraded: true }
            : undefined,
      },
    });
    for (let i = 0; i < 2; i++) expect((await client.fetch('/x')).status).toBe(503);
    const answer = await client.fetch('/x');
    expect(answer.headers.get('x-steadfast-fallback')).toBe('handler');
    expect(await answer.json()).toEqual({ degraded: true });
    expect(server.requests).toHaveLength(2);
  });
});

describe('fallback, in the pipeline', () => {
  const base = { name: 'layers', baseUrl: 'http://127.0.0.1:1', telemetry: NO_TELEMETRY };
  const names = (options: Partial<ClientOptions>) =>
    buildCallPipeline(
      resolveOptions({ ...base, ...options } as ClientOptions),
      new ClientEvents(),
    ).strategies.map((s) => s.name);

  it('is no layer at all unless configured', () => {
    expect(names({})).not.toContain('fallback');
    expect(names({ fallback: false })).not.toContain('fallback');
  });

  it('sits inside the call boundary and outside the concurrency limit, deadline and retry', () => {
    const layers = names({ fallback: {} });
    expect(layers.slice(layers.indexOf('call'), layers.indexOf('retry') + 1)).toEqual([
      'call',
      'fallback',
      'concurrency_limiter',
      'deadline',
      'retry',
    ]);
  });

  it('wraps no body of a call it cannot cache', async () => {
    const server = await h.server(() => ({ status: 200, body: 'ok' }));
    const client = h.client(server.url, { fallback: {} });
    const post = await client.request('/x', { method: 'POST', body: 'a' });
    const get = await client.request('/x');
    expect(post.body.constructor.name).toBe('IncomingBody');
    expect(get.body.constructor.name).toBe('RecordingBody');
    await Promise.all([post.body.dump(), get.body.dump()]);
  });
});

describe('fallback options', () => {
  const invalid = (fallback: unknown): unknown => {
    try {
      createClient({ name: 'bad', telemetry: NO_TELEMETRY, fallback } as ClientOptions);
    } catch (error) {
      return error;
    }
    throw new Error('expected createClient to throw');
  };

  it.each([
    [true, 'fallback', 'must be an object or false'],
    [{ on: [] }, 'fallback.on', 'must name at least one trigger'],
    [{ on: ['timeout', 'breaker'] }, 'fallback.on[1]', 'must be one of "circuit_open"'],
    [{ on: ['timeout', 'timeout'] }, 'fallback.on[1]', 'names "timeout" twice'],
    [{ on: 'timeout' }, 'fallback.on', 'must be an array of triggers'],
    [{ handler: 'default' }, 'fallback.handler', 'must be a function'],
    [{ serveStale: false }, 'fallback.handler', 'is required when serveStale is false'],
    [{ serveStale: { maxAgeMs: 0 } }, 'fallback.serveStale.maxAgeMs', 'must be greater than 0'],
    [{ serveStale: { maxEntries: 1.5 } }, 'fallback.serveStale.maxEntries', 'whole number'],
    [
      { serveStale: { maxEntryBytes: 2048, maxTotalBytes: 1024 } },
      'fallback.serveStale.maxEntryBytes',
      'must be ≤ maxTotalBytes (1024), got 2048',
    ],
    [{ serveStale: { key: 'path' } }, 'fallback.serveStale.key', 'must be a function'],
    [{ serveStale: null }, 'fallback.serveStale', 'must be an object or false'],
    [{ stale: true }, 'fallback.stale', 'unknown option; allowed: on, handler, serveStale'],
  ])('rejects %j at construction, naming %s', (fallback, field, message) => {
    const error = invalid(fallback) as InvalidConfigurationError;
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('has every trigger on, and serve stale on with bounded memory, by default', () => {
    const resolved = resolveOptions({ name: 'd', telemetry: NO_TELEMETRY, fallback: {} });
    expect(resolved.fallback).toMatchObject({
      on: [
        'circuit_open',
        'timeout',
        'server_error',
        'rate_limited',
        'concurrency_limited',
        'network',
      ],
      serveStale: {
        maxAgeMs: 300_000,
        maxEntries: 1000,
        maxEntryBytes: 256 * 1024,
        maxTotalBytes: 16 * 1024 * 1024,
      },
    });
  });
});

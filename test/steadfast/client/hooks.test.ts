import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/client-credentials.js';
import { buildCallPipeline } from '../../../packages/steadfast/src/call-pipeline.js';
import { resolveOptions } from '../../../packages/steadfast/src/config/validate.js';
import {
  type BeforeRetryInfo,
  type CallContext,
  ClientEvents,
  createClient,
  type HookError,
  InvalidConfigurationError,
  isHookError,
  isResponseRejectedError,
  isResponseTooLargeError,
  type ResponseRejectedError,
  retryableFailure,
  type SteadfastError,
} from '../../../packages/steadfast/src/index.js';
import { FAST_RETRY, NO_TELEMETRY, recordEvents, rejectionOf, useHarness } from '../support.js';
import {
  setUpTracing,
  startTokenServer,
  type TokenServer,
  type Tracing,
} from '../telemetry/support.js';

const h = useHarness();
const UNAUTHORIZED = {
  status: 401,
  headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
};

let tracing: Tracing;
let idp: TokenServer;
beforeAll(async () => {
  tracing = setUpTracing();
  idp = await startTokenServer(`tok${Date.now().toString(36)}`);
});
afterAll(async () => {
  await idp.close();
});

const auth = () => clientCredentials({ tokenUrl: idp.url, clientId: 'worker', clientSecret: 'cs' });

describe('beforeRequest', () => {
  it('runs before every wire attempt, retries included, and what it sets is sent', async () => {
    const server = await h.server([{ status: 503 }, { status: 503 }, { status: 200 }]);
    const attempts: number[] = [];
    let id = 0;
    const client = h.client(server.url, {
      hooks: {
        beforeRequest: (ctx) => {
          attempts.push(ctx.attempt);
          ctx.headers['X-Request-Id'] = `req-${++id}`; // any case: sent lower-case, once
        },
      },
    });

    const res = await client.fetch('/');

    expect(res.status).toBe(200);
    expect(attempts).toEqual([0, 1, 2]);
    expect(server.requests.map((r) => r.headers['x-request-id'])).toEqual([
      'req-1',
      'req-2',
      'req-3',
    ]);
  });

  it("sees the call's context, and so do afterResponse and beforeRetry", async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const seen: unknown[] = [];
    const client = h.client(server.url, {
      hooks: {
        beforeRequest: (ctx) => {
          ctx.headers['x-tenant'] = String(ctx.context.tenant);
        },
        afterResponse: (ctx) => {
          seen.push(['afterResponse', ctx.context.tenant]);
        },
        beforeRetry: (ctx) => {
          seen.push(['beforeRetry', ctx.context.tenant]);
        },
      },
    });

    const res = await client.fetch('/', { context: { tenant: 'acme' } });

    expect(res.status).toBe(200);
    expect(server.requests.map((r) => r.headers['x-tenant'])).toEqual(['acme', 'acme']);
    expect(seen).toEqual([
      ['afterResponse', 'acme'],
      ['beforeRetry', 'acme'],
      ['afterResponse', 'acme'],
    ]);
  });

  it('runs a list in order, async ones awaited', async () => {
    const server = await h.server();
    const client = h.client(server.url, {
      hooks: {
        beforeRequest: [
          async (ctx) => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            ctx.headers['x-order'] = 'first';
          },
          (ctx) => {
            ctx.headers['x-order'] += ',second';
          },
        ],
      },
    });

    await (await client.fetch('/')).text();

    expect(server.requests[0]?.headers['x-order']).toBe('first,second');
  });

  it('sees the token already attached, and runs again for the 401 re-send with the new one', async () => {
    const server = await h.server([UNAUTHORIZED, { status: 200 }]);
    const seen: (string | undefined)[] = [];
    const client = h.client(server.url, {
      auth: auth(),
      hooks: {
        beforeRequest: (ctx) => {
          seen.push(ctx.headers.authorization);
          // A signature over the credentials, as a request-signing hook would make.
          ctx.headers['x-signature'] = createHash('sha256')
            .update(ctx.headers.authorization ?? 'none')
            .digest('hex');
        },
      },
    });

    const res = await client.fetch('/');

    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(2);
    expect(seen).toEqual(server.requests.map((r) => r.headers.authorization));
    expect(seen[0]).toMatch(/^Bearer \S+/);
    expect(seen[1]).not.toBe(seen[0]);
    for (const request of server.requests) {
      const signature = createHash('sha256')
        .update(String(request.headers.authorization))
        .digest('hex');
      expect(request.headers['x-signature']).toBe(signature);
    }
  });
});

describe('afterResponse', () => {
  it('turns a 200 with an error body into a retried failure; the caller reads the body the hook read', async () => {
    const server = await h.server([
      { status: 200, body: '{"error":"busy"}' },
      { status: 200, body: '{"ok":true}' },
    ]);
    const client = h.client(server.url, {
      hooks: {
        afterResponse: async (_ctx, response) => {
          const body = (await response.json()) as { error?: string };
          return body.error === 'busy' ? retryableFailure() : undefined;
        },
      },
    });
    const events = recordEvents(client);

    const res = await client.fetch('/');

    expect(await res.json()).toEqual({ ok: true });
    expect(server.requests).toHaveLength(2);
    expect(events.retries.map((e) => e.reason)).toEqual(['response_rejected']);
  });

  it('rejects with ResponseRejectedError when no retry follows', async () => {
    const server = await h.server(() => ({ status: 200, body: '{"error":"busy"}' }));
    const client = h.client(server.url, {
      retry: { ...FAST_RETRY, maxRetries: 1 },
      hooks: { afterResponse: () => retryableFailure() },
    });

    const error = await rejectionOf(client.getJson('/data'));

    expect(isResponseRejectedError(error)).toBe(true);
    expect((error as ResponseRejectedError).status).toBe(200);
    expect((error as Error).message).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/data: the 200 response/,
    );
    expect(server.requests).toHaveLength(2);
  });

  it('replaces the response with a Response it returns', async () => {
    const server = await h.server([{ status: 404, body: 'nope' }]);
    const client = h.client(server.url, {
      hooks: {
        afterResponse: (_ctx, response) =>
          response.status === 404
            ? Response.json([], { headers: { 'x-replaced': '1' } })
            : undefined,
      },
    });

    const res = await client.fetch('/items');

    expect(res.status).toBe(200);
    expect(res.headers.get('x-replaced')).toBe('1');
    expect(await res.json()).toEqual([]);
  });

  it("reads a Response it returns no further than the call's maxResponseBytes, even an endless one", async () => {
    const server = await h.server(() => ({ status: 200, body: 'ok' }));
    const chunk = new Uint8Array(64 * 1024);
    const endless = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            controller.enqueue(chunk);
          },
        }),
      );
    const client = h.client(server.url, {
      maxResponseBytes: 1024 * 1024,
      hooks: { afterResponse: () => endless() },
    });

    const error = await rejectionOf(client.fetch('/items'));

    expect(isResponseTooLargeError(error)).toBe(true);
    expect(error).toMatchObject({ limitBytes: 1024 * 1024 });
  });

  it('a body it cannot read fails the attempt with the body error, not a HookError', async () => {
    const server = await h.server([{ status: 200, body: 'x'.repeat(100) }]);
    const client = h.client(server.url, {
      hooks: { afterResponse: async (_ctx, response) => void (await response.text()) },
    });

    const error = await rejectionOf(client.fetch('/', { maxResponseBytes: 10 }));

    expect((error as { code?: string }).code).toBe('ERR_STEADFAST_RESPONSE_TOO_LARGE');
  });

  it('is outside the breaker: the breaker judges the wire, not the replacement', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, {
      retry: false,
      circuitBreaker: { minimumThroughput: 2, failureRatio: 0.5, samplingDurationMs: 60_000 },
      hooks: { afterResponse: () => new Response('cached', { status: 200 }) },
    });

    for (let i = 0; i < 2; i++) expect((await client.fetch('/')).status).toBe(200);

    expect([...client.breakerStates.values()]).toEqual(['open']);
  });
});

describe('beforeRetry', () => {
  it('is told the delay and the reason, and may cancel the retry', async () => {
    const server = await h.server([
      { status: 503, headers: { 'retry-after': '0' } },
      { status: 200 },
    ]);
    const infos: BeforeRetryInfo[] = [];
    const client = h.client(server.url, {
      hooks: {
        beforeRetry: (_ctx, info) => {
          infos.push(info);
          return false;
        },
      },
    });
    const events = recordEvents(client);

    const res = await client.fetch('/');

    expect(res.status).toBe(503);
    expect(server.requests).toHaveLength(1);
    expect(infos).toEqual([
      {
        attempt: 1,
        delayMs: 0,
        delaySource: 'retry_after',
        reason: '503',
        status: 503,
        error: undefined,
      },
    ]);
    expect(events.retries).toEqual([]);
    expect(events.giveUps.map((e) => e.reason)).toEqual(['hook_cancelled']);
  });

  it('gives back the retry budget of a retry it cancelled', async () => {
    const server = await h.server([{ status: 503 }, { status: 503 }, { status: 200 }]);
    const client = h.client(server.url, {
      // One retry per 10 s window, whatever the traffic.
      retry: { ...FAST_RETRY, budget: { ratio: 0, minRetriesPerSecond: 0.1, windowMs: 10_000 } },
      hooks: { beforeRetry: (ctx) => ctx.operation !== 'cancel' },
    });

    expect((await client.fetch('/', { operation: 'cancel' })).status).toBe(503);
    expect((await client.fetch('/')).status).toBe(200); // the one retry of the window is still there
  });

  it('lets the retry go on when it returns nothing (async too)', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    let calls = 0;
    const client = h.client(server.url, {
      hooks: {
        beforeRetry: async () => {
          calls++;
        },
      },
    });

    expect((await client.fetch('/')).status).toBe(200);
    expect(calls).toBe(1);
    expect(server.requests).toHaveLength(2);
  });
});

describe('beforeError', () => {
  class ApiError extends Error {}

  it('replaces the error a call rejects with, hooks in order, async ones awaited', async () => {
    const server = await h.server(() => ({ status: 404 }));
    const seen: string[] = [];
    const client = h.client(server.url, {
      hooks: {
        beforeError: [
          async (error) => {
            seen.push((error as SteadfastError).code);
            return new ApiError('not found', { cause: error });
          },
          (error) => {
            seen.push(error.constructor.name);
          },
        ],
      },
    });

    const error = await rejectionOf(client.getJson('/missing'));

    expect(error).toBeInstanceOf(ApiError);
    expect(seen).toEqual(['ERR_STEADFAST_HTTP_STATUS', 'ApiError']);
    // A call that does not reject never meets it.
    expect((await client.fetch('/x')).status).toBe(404);
  });
});

describe('a hook that throws', () => {
  it('ends the call with a HookError naming the hook, with the cause, never the token', async () => {
    tracing.reset();
    let thrown = 0;
    const server = await h.server();
    const client = h.client(server.url, {
      auth: auth(),
      retry: { ...FAST_RETRY, shouldRetry: () => true },
      telemetry: { metrics: false, tracing: { tracerProvider: tracing.provider } },
      hooks: {
        beforeRequest: [
          () => {},
          (ctx) => {
            thrown++;
            throw new Error(`refused ${ctx.headers.authorization}`);
          },
        ],
      },
    });

    const error = await rejectionOf(client.fetch('/orders'));
    expect(thrown).toBe(1);

    expect(isHookError(error)).toBe(true);
    const hookError = error as HookError;
    expect(hookError.code).toBe('ERR_STEADFAST_HOOK');
    expect(hookError.hook).toBe('beforeRequest');
    expect(hookError.index).toBe(1);
    expect(hookError.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/orders: the hook hooks\.beforeRequest\[1\] threw/,
    );
    const token = idp.issued.at(-1)!;
    expect((hookError.cause as Error).message).toContain(token); // the token was there to leak
    expect(hookError.message).not.toContain(token);
    // Not retried (a custom rule neither), and nothing went out.
    expect(server.requests).toHaveLength(0);
    const spans = JSON.stringify(
      tracing.spans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })),
    );
    expect(spans).toContain('hook_error');
    expect(spans).not.toContain(token);
  });

  it.each([
    [
      'afterResponse',
      {
        afterResponse: () => {
          throw new Error('boom');
        },
      },
    ],
    [
      'beforeRetry',
      {
        beforeRetry: () => {
          throw new Error('boom');
        },
      },
    ],
    [
      'beforeError',
      {
        beforeError: () => {
          throw new Error('boom');
        },
      },
    ],
  ] as const)('%s too', async (hook, hooks) => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, {
      hooks,
      circuitBreaker: false,
      ...(hook === 'beforeRetry' ? {} : { retry: false }),
    });

    const error = await rejectionOf(
      hook === 'beforeError' ? client.getJson('/') : client.fetch('/'),
    );

    expect(isHookError(error)).toBe(true);
    expect((error as HookError).hook).toBe(hook);
    expect(((error as HookError).cause as Error).message).toBe('boom');
    expect(server.requests).toHaveLength(1);
  });
});

describe('telemetry', () => {
  it('puts an event on the call span only when a hook changed something', async () => {
    tracing.reset();
    const server = await h.server([{ status: 503 }, { status: 200, body: 'ok' }, { status: 503 }]);
    const client = h.client(server.url, {
      telemetry: { metrics: false, tracing: { tracerProvider: tracing.provider } },
      hooks: {
        beforeRequest: (ctx: CallContext) => {
          if (ctx.attempt === 0) ctx.headers['x-secret-signature'] = 'sig-value-42';
        },
        afterResponse: (_ctx, response) =>
          response.status === 200 ? new Response('replaced') : undefined,
        beforeRetry: (ctx) => ctx.operation !== 'second',
      },
    });

    await (await client.fetch('/')).text();
    const first = tracing.spans().find((s) => s.name === 'test GET');
    tracing.reset();
    await (await client.fetch('/', { operation: 'second' })).text();
    const second = tracing.spans().find((s) => s.name === 'test second');

    const hookEvents = (span: typeof first) =>
      span?.events
        .filter((e) => e.name.startsWith('steadfast.hook.'))
        .map((e) => [e.name, e.attributes]);
    expect(hookEvents(first)).toEqual([
      [
        'steadfast.hook.headers_set',
        {
          'steadfast.hook.name': 'beforeRequest',
          'steadfast.hook.attempt': 0,
          'steadfast.hook.headers': ['x-secret-signature'],
        },
      ],
      [
        'steadfast.hook.outcome_replaced',
        {
          'steadfast.hook.name': 'afterResponse',
          'steadfast.hook.attempt': 1,
          'steadfast.hook.replacement': 'response',
        },
      ],
    ]);
    expect(JSON.stringify(first?.events)).not.toContain('sig-value-42');
    // Not on the re-send, where the header already had that value. The second call starts
    // from its own headers (so the header is set again) and its retry is cancelled.
    expect(hookEvents(second)?.map(([name]) => name)).toEqual([
      'steadfast.hook.headers_set',
      'steadfast.hook.retry_cancelled',
    ]);
    expect(second?.attributes['steadfast.retry.stop_reason']).toBe('hook_cancelled');
  });
});

describe('the layer', () => {
  const names = (options: Parameters<typeof resolveOptions>[0]) =>
    buildCallPipeline(resolveOptions(options), new ClientEvents()).strategies.map((s) => s.name);

  it('is absent from a client without hooks, and sits between re-authorization and the breaker', () => {
    const base = {
      name: 'layers',
      baseUrl: 'http://127.0.0.1:1',
      telemetry: NO_TELEMETRY,
      auth: auth(),
    };
    const without = names(base);
    const only = names({ ...base, hooks: { beforeRetry: () => {}, beforeError: () => {} } });
    const withHooks = names({ ...base, hooks: { afterResponse: () => {} } });

    expect(without).not.toContain('hooks');
    expect(only).toEqual(without);
    expect(
      withHooks.slice(withHooks.indexOf('retry'), withHooks.indexOf('circuit_breaker') + 1),
    ).toEqual(['retry', 'reauthorize', 'hooks', 'circuit_breaker']);
  });

  it.each([
    [{ beforeRequest: 'x' }, 'hooks.beforeRequest', /must be a function or an array of functions/],
    [{ afterResponse: [() => {}, 3] }, 'hooks.afterResponse[1]', /must be a function, got 3/],
    [{ beforeSend: () => {} }, 'hooks.beforeSend', /unknown option; allowed: beforeRequest/],
  ])('are validated at construction: %j', (hooks, field, message) => {
    let error: unknown;
    try {
      createClient({ name: 'h', telemetry: NO_TELEMETRY, hooks: hooks as never });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).field).toBe(field);
    expect((error as Error).message).toMatch(message);
  });
});

import { getEventListeners } from 'node:events';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCallPipeline } from '../../../packages/steadfast/src/call-pipeline.js';
import { resolveOptions } from '../../../packages/steadfast/src/config/validate.js';
import {
  createClient,
  InvalidConfigurationError,
  isAbortError,
  isCircuitOpenError,
  isClientClosedError,
} from '../../../packages/steadfast/src/index.js';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import type {
  AttemptStartEvent,
  HedgeEndEvent,
  HedgeEvent,
} from '../../../packages/steadfast/src/pipeline/events.js';
import { seededRandom } from '../../../packages/steadfast/src/pipeline/seeded-random.js';
import type { CallContext, Next } from '../../../packages/steadfast/src/pipeline/types.js';
import { closedPort } from '../../helpers/http-server.js';
import {
  type Client,
  type ClientOptions,
  FAST_RETRY,
  NO_TELEMETRY,
  rejectionOf,
} from '../support.js';
import { setUpTracing } from '../telemetry/support.js';
import { type Answer, type Api, type ApiRequest, startApi } from './hedging-api.js';

const apis: Api[] = [];
const clients: Client[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(agents.splice(0).map((a) => a.close()));
  await Promise.allSettled(apis.splice(0).map((a) => a.close()));
});

async function api(answer: (request: ApiRequest) => Answer, host?: string): Promise<Api> {
  const started = await startApi(answer, host);
  apis.push(started);
  return started;
}

function client(baseUrl: string, options: Partial<ClientOptions> = {}): Client {
  const c = createClient({
    name: 'hedged',
    baseUrl,
    retry: false,
    telemetry: NO_TELEMETRY,
    ...options,
  } as ClientOptions);
  clients.push(c);
  return c;
}

/** An undici Agent of the test's own, so that its pools can be looked at. */
function agent(): Agent {
  const a = new Agent({ keepAliveTimeout: 10_000 });
  agents.push(a);
  return a;
}

/** Requests on the wire now (sent and not finished, bodies included) in the agent's pools. */
function running(a: Agent): number {
  return Object.values(a.stats).reduce((n, pool) => n + (pool as { running: number }).running, 0);
}

function hedgeEvents(c: Client): { hedges: HedgeEvent[]; ends: HedgeEndEvent[] } {
  const recorded = { hedges: [] as HedgeEvent[], ends: [] as HedgeEndEvent[] };
  c.events.hedge.event((e) => recorded.hedges.push(e));
  c.events.hedgeEnd.event((e) => recorded.ends.push(e));
  return recorded;
}

describe('hedging', () => {
  it('sends a hedge when the first attempt has not answered within the delay, takes the first answer and cancels the other', async () => {
    const server = await api((r) => (r.index === 0 ? 'hang' : { body: `answer ${r.index}` }));
    const pools = agent();
    const c = client(server.url, {
      hedging: { delayMs: 50 },
      transport: { dispatcher: pools },
    });
    const seen = hedgeEvents(c);
    let sentAfterMs = 0;
    c.events.hedge.event((e) => {
      sentAfterMs = performance.now() - e.ctx.startedAt;
    });

    const started = performance.now();
    const response = await c.fetch('/slow-sometimes');
    expect(await response.text()).toBe('answer 1');
    expect(performance.now() - started).toBeLessThan(2_000); // not the hanging attempt's time

    expect(server.requests).toHaveLength(2);
    expect(sentAfterMs).toBeGreaterThanOrEqual(49); // not at once: after the delay
    // The first attempt was cancelled: the server saw its request go, the pools hold nothing.
    await server.until(() => server.requests[0]!.aborted);
    await server.until(() => running(pools) === 0);
    expect(seen.hedges).toEqual([
      expect.objectContaining({
        hedge: 1,
        trigger: 'delay',
        delayMs: 50,
        origin: server.url,
        skipped: undefined,
      }),
    ]);
    expect(seen.ends).toEqual([
      expect.objectContaining({ sent: 2, winner: 1, origin: server.url, cancelled: 1 }),
    ]);
  });

  it('lets the first attempt win when it answers first, cancelling the hedge', async () => {
    const server = await api((r) => (r.index === 0 ? { delayMs: 120, body: 'first' } : 'hang'));
    const pools = agent();
    const c = client(server.url, { hedging: { delayMs: 30 }, transport: { dispatcher: pools } });
    const seen = hedgeEvents(c);

    expect(await (await c.fetch('/x')).text()).toBe('first');
    await server.until(() => server.requests[1]?.aborted === true);
    await server.until(() => running(pools) === 0);
    expect(seen.ends).toEqual([expect.objectContaining({ sent: 2, winner: 0, cancelled: 1 })]);
  });

  it('gives each attempt its own CLIENT span and traceparent, under the one call span', async () => {
    const tracing = setUpTracing();
    const server = await api((r) => (r.index === 0 ? 'hang' : { body: 'ok' }));
    const c = client(server.url, {
      hedging: { delayMs: 30 },
      telemetry: { metrics: false, tracing: { tracerProvider: tracing.provider } },
    });
    await (await c.fetch('/x')).text();
    await server.until(() => tracing.spans().length === 3); // the cancelled one ends too

    const [first, second] = server.requests.map((r) => String(r.headers.traceparent));
    const call = tracing.spans().find((s) => s.name === 'hedged GET')!;
    const traceOf = (traceparent: string) => traceparent.split('-')[1];
    expect(first).not.toBe(second);
    expect(traceOf(first!)).toBe(call.spanContext().traceId);
    expect(traceOf(second!)).toBe(call.spanContext().traceId);
    const attempts = tracing.spans().filter((s) => s !== call);
    expect(attempts.map((s) => s.parentSpanContext?.spanId)).toEqual([
      call.spanContext().spanId,
      call.spanContext().spanId,
    ]);
    expect(attempts.map((s) => s.spanContext().spanId).sort()).toEqual(
      [first, second].map((t) => t!.split('-')[2]).sort(),
    );
  });

  it('sends nothing more when the first attempt answers within the delay', async () => {
    const server = await api(() => ({ body: 'quick' }));
    const c = client(server.url, { hedging: { delayMs: 500 } });
    const seen = hedgeEvents(c);

    for (let i = 0; i < 5; i++) expect(await (await c.fetch('/x')).text()).toBe('quick');
    expect(server.requests).toHaveLength(5);
    expect(seen.hedges).toEqual([]);
    expect(seen.ends).toEqual([]); // no hedge went, none was skipped: no hedged call
  });

  it('sends the next hedge at once when an attempt fails, while the others keep running', async () => {
    const server = await api((r) =>
      r.index === 0 ? { status: 503, body: 'busy' } : { body: `answer ${r.index}` },
    );
    const c = client(server.url, { hedging: { delayMs: 10_000 } });
    const seen = hedgeEvents(c);

    const started = performance.now();
    const response = await c.fetch('/x');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('answer 1');
    expect(performance.now() - started).toBeLessThan(5_000); // never waited for the delay
    expect(seen.hedges.map((e) => e.trigger)).toEqual(['failure']);
  });

  it('returns the last failure when every attempt failed, and dumps the others', async () => {
    const server = await api((r) => ({ status: 503, body: `busy ${r.index}`.repeat(1000) }));
    const pools = agent();
    const c = client(server.url, {
      hedging: { delayMs: 10_000, maxHedgedAttempts: 2 },
      transport: { dispatcher: pools },
    });
    const seen = hedgeEvents(c);

    const response = await c.fetch('/x');
    expect(response.status).toBe(503);
    expect((await response.text()).startsWith('busy 2')).toBe(true);
    await server.until(() => running(pools) === 0);
    expect(server.requests).toHaveLength(3);
    expect(seen.ends).toEqual([
      expect.objectContaining({ sent: 3, winner: undefined, origin: undefined, cancelled: 0 }),
    ]);
    // Every body was read (ours) or dumped (the others): the connections stay for reuse.
    expect(server.openConnections()).toBeGreaterThanOrEqual(1);
  });

  it('runs a whole hedged group again on retry, with attempt numbers that never repeat', async () => {
    const server = await api((r) => (r.index < 2 ? { status: 503 } : { body: 'done' }));
    const c = client(server.url, {
      hedging: { delayMs: 10_000 },
      retry: { ...FAST_RETRY, maxRetries: 2 },
    });
    const attempts: AttemptStartEvent[] = [];
    c.events.attemptStart.event((e) => attempts.push(e));

    expect(await (await c.fetch('/x')).text()).toBe('done');
    const numbers = attempts.map((e) => e.attempt);
    expect(numbers).toHaveLength(3);
    expect(new Set(numbers).size).toBe(3);
    // The retry's attempt comes after both of the first group.
    expect(numbers[2]).toBe(2);
    expect(attempts.map((e) => e.ctx.hedge)).toEqual([0, 1, 0]);
  });

  it("ends every attempt when the caller aborts, and leaves no listener on the caller's signal", async () => {
    const server = await api(() => 'hang');
    const c = client(server.url, { hedging: { delayMs: 20 } });
    const controller = new AbortController();
    const pending = c.fetch('/x', { signal: controller.signal });
    await server.until(() => server.requests.length === 2);
    controller.abort();

    expect(isAbortError(await rejectionOf(pending))).toBe(true);
    await server.until(() => server.aborted() === 2);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('ends a hedged call on close(), leaving no hedge timer behind', async () => {
    const server = await api(() => 'hang');
    const c = client(server.url, { hedging: { delayMs: 60_000 } });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const failed = rejectionOf(c.fetch('/x'));
    await server.until(() => server.requests.length === 1); // the hedge timer is armed now
    await c.close();

    expect(isClientClosedError(await failed)).toBe(true);
    await server.until(() => server.aborted() === 1);
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('leaves no listener on a shared signal after many hedged calls', async () => {
    const server = await api((r) => (r.index % 2 === 0 ? { delayMs: 40 } : { body: 'ok' }));
    const c = client(server.url, { hedging: { delayMs: 5, budget: false } });
    const shared = new AbortController();
    for (let i = 0; i < 20; i++) await (await c.fetch('/x', { signal: shared.signal })).text();
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('stops a cancelled attempt that has not reached the wire yet before it is sent', async () => {
    const server = await api(() => ({ delayMs: 60, body: 'first' }));
    const c = client(server.url, {
      hedging: { delayMs: 20 },
      // The hedge is held in a hook until well after the first attempt answered.
      hooks: {
        beforeRequest: async (ctx) => {
          if (ctx.hedge === 1) await new Promise((resolve) => setTimeout(resolve, 200));
        },
      },
    });
    const seen = hedgeEvents(c);
    expect(await (await c.fetch('/x')).text()).toBe('first');
    expect(seen.ends).toEqual([expect.objectContaining({ sent: 2, winner: 0, cancelled: 1 })]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.requests).toHaveLength(1); // the hedge left the hook and was never sent
  });

  it('takes a cancelled attempt out of a rate limiter queue, so it spends no permit', async () => {
    const server = await api((r) => (r.index === 0 ? { delayMs: 100, body: 'first' } : {}));
    const c = client(server.url, {
      hedging: { delayMs: 20 },
      rateLimit: { limit: 2, intervalMs: 1000, burst: 1 }, // a permit every 500 ms
      totalTimeoutMs: 5_000,
    });
    expect(await (await c.fetch('/one')).text()).toBe('first'); // its hedge waited, cancelled
    const started = performance.now();
    await (await c.fetch('/two')).text();
    // The next permit was the second call's: ~400 ms away, not another 500 ms after it.
    expect(performance.now() - started).toBeLessThan(700);
    expect(server.requests.map((r) => r.path)).toEqual(['/one', '/two']);
  });

  it('caps the hedges by the budget over many calls', async () => {
    const server = await api(() => ({ delayMs: 30 }));
    const c = client(server.url, {
      hedging: { delayMs: 2, budget: { ratio: 0.1, minPerSecond: 0 } },
      concurrency: { limit: 10 },
    });
    const seen = hedgeEvents(c);

    const calls = 200;
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < calls) {
          next++;
          await (await c.fetch('/x')).text();
        }
      }),
    );
    const sent = seen.hedges.filter((e) => e.skipped === undefined).length;
    const skipped = seen.hedges.filter((e) => e.skipped === 'budget_exhausted').length;
    // Every call wanted a hedge; the budget allows 10 % of the calls in its window. (A hedge
    // cancelled before its request left is not seen by the server.)
    expect(server.requests.length - calls).toBeLessThanOrEqual(sent);
    expect(sent).toBeLessThanOrEqual(0.1 * calls);
    expect(sent).toBeGreaterThanOrEqual(0.05 * calls);
    expect(skipped).toBeGreaterThanOrEqual(calls - 0.1 * calls - 10);
  });

  describe('only re-sends what may be sent twice', () => {
    const slowFirst = (r: ApiRequest): Answer =>
      r.index === 0 ? { delayMs: 300, body: 'first' } : { body: 'hedge' };

    it('does not hedge a POST', async () => {
      const server = await api(slowFirst);
      const c = client(server.url, { hedging: { delayMs: 20 } });
      const res = await c.fetch('/orders', { method: 'POST', json: { sku: 'A-1' } });
      expect(await res.text()).toBe('first');
      expect(server.requests).toHaveLength(1);
    });

    it.each([
      ['an Idempotency-Key', { idempotencyKey: true }],
      ['idempotent: true', { idempotent: true }],
    ] as const)('hedges a POST that carries %s', async (_what, opt) => {
      const server = await api(slowFirst);
      const c = client(server.url, { hedging: { delayMs: 20 } });
      const res = await c.fetch('/orders', { method: 'POST', json: { sku: 'A-1' }, ...opt });
      expect(await res.text()).toBe('hedge');
      expect(server.requests).toHaveLength(2);
      expect(server.requests[1]!.headers['idempotency-key']).toBe(
        server.requests[0]!.headers['idempotency-key'],
      );
    });

    it('hedges any POST with hedgeUnsafeMethods', async () => {
      const server = await api(slowFirst);
      const c = client(server.url, { hedging: { delayMs: 20, hedgeUnsafeMethods: true } });
      const res = await c.fetch('/orders', { method: 'POST', json: { sku: 'A-1' } });
      expect(await res.text()).toBe('hedge');
      expect(server.requests).toHaveLength(2);
    });

    it('never hedges a one-shot body', async () => {
      const server = await api(slowFirst);
      const c = client(server.url, { hedging: { delayMs: 20, hedgeUnsafeMethods: true } });
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"sku":"A-1"}'));
          controller.close();
        },
      });
      const res = await c.fetch('/orders', { method: 'PUT', body, duplex: 'half' } as never);
      expect(await res.text()).toBe('first');
      expect(server.requests).toHaveLength(1);
    });

    it('asks shouldHedge per call', async () => {
      const server = await api(slowFirst);
      const c = client(server.url, {
        hedging: { delayMs: 20, shouldHedge: (ctx) => ctx.context.hedge !== false },
      });
      expect(await (await c.fetch('/x', { context: { hedge: false } })).text()).toBe('first');
      expect(server.requests).toHaveLength(1);
    });
  });

  describe('endpoint groups', () => {
    it('fails over to the next endpoint at once when one is down, without spending the budget', async () => {
      const down = `http://127.0.0.1:${await closedPort()}`;
      const up = await api(() => ({ body: 'from the replica' }));
      const c = client(down, {
        hedging: {
          delayMs: 10_000,
          endpoints: [down, up.url],
          budget: { ratio: 0, minPerSecond: 0 }, // no hedge at all may be paid for
        },
      });
      const seen = hedgeEvents(c);

      for (let i = 0; i < 3; i++) {
        const res = await c.fetch('/data');
        expect(await res.text()).toBe('from the replica');
      }
      expect(up.requests.map((r) => r.path)).toEqual(['/data', '/data', '/data']);
      expect(seen.hedges.every((e) => e.skipped === undefined && e.trigger === 'failure')).toBe(
        true,
      );
      expect(seen.ends.map((e) => [e.winner, e.origin])).toEqual([
        [1, up.url],
        [1, up.url],
        [1, up.url],
      ]);
    });

    it("sends nothing to an endpoint whose breaker is open, and meets each endpoint's own breaker", async () => {
      const failing = await api(() => ({ status: 500, body: 'broken' }));
      const healthy = await api(() => ({ body: 'healthy' }));
      const c = client(failing.url, {
        hedging: { delayMs: 10_000, endpoints: [failing.url, healthy.url], budget: false },
        circuitBreaker: { minimumThroughput: 4, failureRatio: 0.5, breakDurationMs: 60_000 },
      });

      for (let i = 0; i < 10; i++) expect(await (await c.fetch('/x')).text()).toBe('healthy');
      expect(c.breakerStates.get(failing.url)).toBe('open');
      expect(c.breakerStates.get(healthy.url)).toBe('closed');
      const failedBefore = failing.requests.length;
      expect(failedBefore).toBeLessThanOrEqual(5);
      for (let i = 0; i < 10; i++) expect(await (await c.fetch('/x')).text()).toBe('healthy');
      expect(failing.requests).toHaveLength(failedBefore); // the open breaker sent nothing
      expect(healthy.requests).toHaveLength(20);
    });

    it('spreads first attempts by weight', async () => {
      const heavy = await api(() => ({ body: 'heavy' }));
      const light = await api(() => ({ body: 'light' }));
      const c = client(heavy.url, {
        hedging: {
          delayMs: 10_000,
          routing: 'weighted',
          endpoints: [
            { url: heavy.url, weight: 3 },
            { url: light.url, weight: 1 },
          ],
          random: seededRandom(42),
        },
      });
      const calls = 400;
      for (let i = 0; i < calls; i++) await (await c.fetch('/x')).text();
      const share = heavy.requests.length / calls;
      expect(heavy.requests.length + light.requests.length).toBe(calls);
      expect(share).toBeGreaterThan(0.65);
      expect(share).toBeLessThan(0.85);
    });

    it('hedges a call to an origin outside the group to its own origin', async () => {
      const member = await api(() => ({ body: 'member' }));
      const outside = await api((r) => (r.index === 0 ? 'hang' : { body: 'outside' }));
      const c = client(member.url, { hedging: { delayMs: 20, endpoints: [member.url] } });
      expect(await (await c.fetch(`${outside.url}/x`)).text()).toBe('outside');
      expect(outside.requests).toHaveLength(2);
      expect(member.requests).toHaveLength(0);
    });

    it('sends a hedge to the next endpoint in order', async () => {
      const first = await api(() => 'hang');
      const second = await api(() => ({ body: 'second' }));
      const c = client(first.url, {
        hedging: { delayMs: 20, endpoints: [first.url, second.url] },
      });
      expect(await (await c.fetch('/x?q=1')).text()).toBe('second');
      expect(first.requests.map((r) => r.path)).toEqual(['/x?q=1']);
      expect(second.requests.map((r) => r.path)).toEqual(['/x?q=1']);
      await first.until(() => first.requests[0]!.aborted);
    });
  });

  describe('options', () => {
    const base = { name: 'opts', baseUrl: 'http://127.0.0.1:1', telemetry: NO_TELEMETRY };
    const errorOf = (hedging: unknown): InvalidConfigurationError => {
      try {
        createClient({ ...base, hedging } as ClientOptions);
      } catch (error) {
        if (error instanceof InvalidConfigurationError) return error;
        throw error;
      }
      throw new Error('createClient accepted the options');
    };

    it.each([
      [{ maxHedgedAttempts: 0 }, 'hedging.maxHedgedAttempts', 'must be ≥ 1'],
      [{ maxHedgedAttempts: 11 }, 'hedging.maxHedgedAttempts', 'must be ≤ 10'],
      [{ delayMs: -1 }, 'hedging.delayMs', 'must be ≥ 0'],
      [{ budget: { ratio: 2 } }, 'hedging.budget.ratio', 'must be ≤ 1'],
      [{ learnedDelay: { quantile: 1 } }, 'hedging.learnedDelay.quantile', 'must be ≤ 0.999'],
      [{ learnedDelay: { minMs: 50, maxMs: 10 } }, 'hedging.learnedDelay.maxMs', 'must be ≥'],
      [
        { learnedDelay: { samples: 32, minSamples: 64 } },
        'hedging.learnedDelay.minSamples',
        'must be ≤',
      ],
      [
        { endpoints: ['http://a:1', 'ftp://b:2'] },
        'hedging.endpoints[1]',
        'must use http: or https:',
      ],
      [{ endpoints: ['http://a:1/api'] }, 'hedging.endpoints[0]', 'must be an origin'],
      [
        { endpoints: ['http://u:secret@a:1'] },
        'hedging.endpoints[0]',
        'must not contain credentials',
      ],
      [{ endpoints: ['http://a:1', 'http://a:1/'] }, 'hedging.endpoints[1]', 'repeats the origin'],
      [{ endpoints: [{ url: 'http://a:1', weight: 0 }] }, 'hedging.endpoints[0]', 'weight must be'],
      [{ endpoints: [] }, 'hedging.endpoints', 'must list 1–16 endpoints'],
      [{ routing: 'weighted' }, 'hedging.routing', 'needs `endpoints`'],
      [{ routing: 'random' }, 'hedging.routing', 'must be "ordered" or "weighted"'],
      [{ delay: 5 }, 'hedging.delay', 'unknown option'],
      [true, 'hedging', 'must be an object or false'],
    ])('rejects %j naming %s', (hedging, field, message) => {
      const error = errorOf(hedging);
      expect(error.field).toBe(field);
      expect(error.message).toContain(message);
      expect(error.message).not.toContain('secret');
    });

    it('is absent from the pipeline unless configured, and sits between retry and re-authorization', () => {
      const names = (options: Partial<ClientOptions>) =>
        buildCallPipeline(
          resolveOptions({ ...base, ...options } as ClientOptions),
          new ClientEvents(),
        ).strategies.map((s) => s.name);
      expect(names({})).not.toContain('hedging');
      expect(names({ hedging: false })).not.toContain('hedging');
      const layers = names({
        hedging: {},
        auth: {
          createStrategy: () => ({
            name: 'reauthorize',
            execute: (c: CallContext, n: Next) => n(c),
          }),
        },
        rateLimit: { limit: 10 },
        circuitBreaker: {},
      } as unknown as Partial<ClientOptions>);
      expect(layers.slice(layers.indexOf('retry'), layers.indexOf('circuit_breaker') + 1)).toEqual([
        'retry',
        'hedging',
        'reauthorize',
        'rate_limiter',
        'circuit_breaker',
      ]);
    });

    it("adds the group's endpoints to the token's origins only when one of them is the token's", () => {
      const auth = { createStrategy: () => ({ name: 'reauthorize', execute: () => undefined }) };
      const resolved = resolveOptions({
        ...base,
        auth,
        hedging: { endpoints: ['http://127.0.0.1:1', 'http://replica:8080'] },
      } as unknown as ClientOptions);
      expect([...resolved.authOrigins]).toEqual(['http://127.0.0.1:1', 'http://replica:8080']);
      expect(resolved.origins).toEqual(['http://127.0.0.1:1', 'http://replica:8080']);
      const elsewhere = resolveOptions({
        ...base,
        auth,
        hedging: { endpoints: ['http://other:1', 'http://other:2'] },
      } as unknown as ClientOptions);
      expect([...elsewhere.authOrigins]).toEqual(['http://127.0.0.1:1']);
    });
  });

  it('reports a breaker-open error of a call outside any group as it is', async () => {
    const failing = await api(() => ({ status: 500 }));
    const c = client(failing.url, {
      hedging: { delayMs: 10_000, budget: false },
      circuitBreaker: { minimumThroughput: 2, failureRatio: 0.5, breakDurationMs: 60_000 },
    });
    // The 500 sends a hedge at once, whose 500 opens the breaker.
    expect((await c.fetch('/x')).status).toBe(500);
    expect(c.breakerStates.get(failing.url)).toBe('open');
    expect(isCircuitOpenError(await rejectionOf(c.fetch('/x')))).toBe(true);
    expect(failing.requests).toHaveLength(2); // no hedge either: the origin refused
  });
});

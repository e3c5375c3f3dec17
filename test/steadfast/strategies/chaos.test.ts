import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  isInvalidConfigurationError,
  isTimeoutError,
  withInjectedFault,
} from '../../../packages/steadfast/src/index.js';
import type { FaultInjectedEvent } from '../../../packages/steadfast/src/pipeline/events.js';
import { type Client, recordEvents, useHarness } from '../support.js';

const h = useHarness();

function recordFaults(client: Client): string[] {
  const faults: string[] = [];
  client.events.faultInjected.event((e: FaultInjectedEvent) => faults.push(e.fault));
  return faults;
}

describe('chaos is opt-in', () => {
  it('is not in the pipeline without the chaos option: the header goes through untouched', async () => {
    const server = await h.server();
    const client = h.client(server.url);
    const faults = recordFaults(client);

    const res = await client.fetch('/x', { headers: { 'x-steadfast-chaos': '503' } });

    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers['x-steadfast-chaos']).toBe('503');
    expect(faults).toEqual([]);
  });

  it('with chaos enabled but no rates, a call without a trigger is sent as is', async () => {
    const server = await h.server();
    const client = h.client(server.url, { chaos: {} });
    const faults = recordFaults(client);

    const res = await client.fetch('/x');

    expect(res.status).toBe(200);
    expect(res.headers.get('x-steadfast-chaos')).toBeNull();
    expect(server.requests).toHaveLength(1);
    expect(faults).toEqual([]);
  });
});

describe('faults asked for by a request header', () => {
  it('injects a 503 on the first attempt only with "503*1"; the retry reaches the server without the header', async () => {
    const server = await h.server([{ status: 200, body: 'real' }]);
    const client = h.client(server.url, { chaos: {} });
    const faults = recordFaults(client);
    const events = recordEvents(client);

    const res = await client.fetch('/x', { headers: { 'x-steadfast-chaos': '503*1' } });

    expect(res.status).toBe(200);
    expect(await res.text()).toBe('real');
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers['x-steadfast-chaos']).toBeUndefined();
    expect(faults).toEqual(['503']);
    expect(events.retries.map((e) => e.reason)).toEqual(['503']);
  });

  it('injects on every attempt without "*N": the call gives up, the server never sees it, the response says injected', async () => {
    const server = await h.server();
    const client = h.client(server.url, { chaos: {} });
    const faults = recordFaults(client);
    const events = recordEvents(client);

    const res = await client.fetch('/x', { headers: { 'X-Steadfast-Chaos': '503' } });

    expect(res.status).toBe(503);
    expect(res.headers.get('x-steadfast-chaos')).toBe('injected');
    expect(await res.json()).toMatchObject({ error: 'injected by steadfast chaos' });
    expect(server.requests).toHaveLength(0);
    expect(faults).toEqual(['503', '503', '503', '503']);
    expect(events.giveUps.map((e) => e.reason)).toEqual(['max_retries']);
  });

  it('injects a 429 with Retry-After, which the retry strategy honours', async () => {
    const server = await h.server();
    const client = h.client(server.url, { chaos: { retryAfterSeconds: 0 } });
    const events = recordEvents(client);

    const res = await client.fetch('/x', { headers: { 'x-steadfast-chaos': '429*2' } });

    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(1);
    expect(events.retries.map((e) => [e.reason, e.delaySource])).toEqual([
      ['429', 'retry_after'],
      ['429', 'retry_after'],
    ]);
  });

  it('injects an ECONNRESET-like network error that is retried like a real reset', async () => {
    const server = await h.server();
    const client = h.client(server.url, { chaos: {} });
    const events = recordEvents(client);

    const res = await client.fetch('/x', { headers: { 'x-steadfast-chaos': 'reset*1' } });

    expect(res.status).toBe(200);
    expect(events.retries.map((e) => e.reason)).toEqual(['ECONNRESET']);
    expect(server.requests).toHaveLength(1);
  });

  it('a reset on every attempt rejects with an error marked injected', async () => {
    const server = await h.server();
    const client = h.client(server.url, { chaos: {}, retry: false });

    const error = await client.fetch('/x', { headers: { 'x-steadfast-chaos': 'reset' } }).then(
      () => undefined,
      (e: unknown) => e,
    );

    // Typed like a real reset: a NetworkError whose cause is the injected error.
    expect(error).toMatchObject({ code: 'ERR_STEADFAST_NETWORK', errorCode: 'ECONNRESET' });
    expect((error as Error).cause).toMatchObject({ code: 'ECONNRESET', injected: true });
    expect(server.requests).toHaveLength(0);
  });

  it('injected latency meets the attempt timeout like a slow server would', async () => {
    const server = await h.server();
    const client = h.client(server.url, { chaos: {}, retry: false, attemptTimeoutMs: 50 });

    const error = await client
      .fetch('/x', { headers: { 'x-steadfast-chaos': 'latency=60000' } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    expect(isTimeoutError(error)).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  it('injected latency shorter than the timeout delays the attempt, which is then sent', async () => {
    const server = await h.server();
    const client = h.client(server.url, { chaos: {} });
    const faults = recordFaults(client);

    const res = await client.fetch('/x', { headers: { 'x-steadfast-chaos': 'latency=5' } });

    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(1);
    expect(faults).toEqual(['latency']);
  });

  it('ignores (with a warning) and strips a header value it does not understand', async () => {
    const server = await h.server();
    const client = h.client(server.url, { chaos: {} });
    const faults = recordFaults(client);

    const res = await client.fetch('/x', { headers: { 'x-steadfast-chaos': 'teapot' } });

    expect(res.status).toBe(200);
    expect(server.requests[0]!.headers['x-steadfast-chaos']).toBeUndefined();
    expect(faults).toEqual([]);
  });
});

describe('telemetry shows injected faults as injected', () => {
  it('counts each injection under strategy="chaos", event="fault_injected"', async () => {
    const server = await h.server();
    const registry = new Registry();
    const client = h.client(server.url, {
      chaos: {},
      telemetry: { metrics: { registry }, tracing: false },
    });

    await client.fetch('/x', { headers: { 'x-steadfast-chaos': '503*2' } });

    const exposition = await registry.metrics();
    const line = exposition
      .split('\n')
      .find((l) => l.startsWith('steadfast_events_total{') && l.includes('event="fault_injected"'));
    expect(line).toContain('strategy="chaos"');
    expect(line).toMatch(/ 2$/);
  });
});

describe('faults asked for by the async context', () => {
  it('injects a 401 into calls made inside withInjectedFault, and only those', async () => {
    const server = await h.server();
    const client = h.client(server.url, { chaos: {} });
    const faults = recordFaults(client);

    const [inside, outside] = await Promise.all([
      withInjectedFault('401', () => client.fetch('/inside')),
      client.fetch('/outside'),
    ]);

    expect(inside.status).toBe(401);
    expect(inside.headers.get('www-authenticate')).toContain('invalid_token');
    expect(outside.status).toBe(200);
    expect(server.requests.map((r) => r.path)).toEqual(['/outside']);
    expect(faults).toEqual(['401']);
  });

  it('refuses an unknown fault name', () => {
    expect(() => withInjectedFault('418' as '401', () => 1)).toThrow(/unknown fault "418"/);
  });
});

describe('faults at a rate', () => {
  async function run(seed: number): Promise<{ statuses: number[]; reached: number }> {
    const server = await h.server();
    const client = h.client(server.url, {
      retry: false,
      chaos: { serviceUnavailableRate: 0.3, resetRate: 0.1, seed },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      statuses.push(
        await client.fetch('/x').then(
          (r) => r.status,
          () => -1,
        ),
      );
    }
    return { statuses, reached: server.requests.length };
  }

  it('injects about the configured share, every attempt accounted for, and repeats with the same seed', async () => {
    const first = await run(42);
    const second = await run(42);
    const other = await run(7);

    const injected = first.statuses.filter((s) => s !== 200).length;
    expect(first.reached + injected).toBe(60);
    expect(injected).toBeGreaterThan(5);
    expect(injected).toBeLessThan(45);
    expect(first.statuses).toContain(503);
    expect(first.statuses).toContain(-1);
    expect(second.statuses).toEqual(first.statuses);
    expect(other.statuses).not.toEqual(first.statuses);
  });
});

describe('chaos options are validated at construction', () => {
  function configError(chaos: unknown): unknown {
    try {
      h.client('http://127.0.0.1:1', { chaos } as never);
    } catch (error) {
      return error;
    }
    return undefined;
  }

  it.each([
    [{ resetRate: 2 }, 'chaos.resetRate', /≤ 1/],
    [{ serviceUnavailableRate: 0.6, rateLimitRate: 0.6 }, 'chaos', /must be ≤ 1/],
    [{ latencyMs: -1 }, 'chaos.latencyMs', /≥ 0/],
    [{ rateLimit: 0.1 }, 'chaos.rateLimit', /unknown option/],
    [{ header: 'bad header' }, 'chaos.header', /header name/],
    [{ seed: 1.5 }, 'chaos.seed', /whole number/],
    ['on', 'chaos', /must be an object/],
  ])('%j is refused, naming %s', (chaos, field, message) => {
    const error = configError(chaos);
    expect(isInvalidConfigurationError(error)).toBe(true);
    expect(error).toMatchObject({ field });
    expect((error as Error).message).toMatch(message);
  });

  it('accepts false (off)', () => {
    expect(configError(false)).toBeUndefined();
  });
});

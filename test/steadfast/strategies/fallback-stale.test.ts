import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCallPipeline } from '../../../packages/steadfast/src/call-pipeline.js';
import { resolveOptions } from '../../../packages/steadfast/src/config/validate.js';
import { emptyBody } from '../../../packages/steadfast/src/http/body.js';
import { isCircuitOpenError, isRateLimitedError } from '../../../packages/steadfast/src/index.js';
import { Call } from '../../../packages/steadfast/src/pipeline/call.js';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import type { FallbackEvent } from '../../../packages/steadfast/src/pipeline/events.js';
import type { Fallback } from '../../../packages/steadfast/src/strategies/fallback/index.js';
import type { ScriptedResponse } from '../../helpers/http-server.js';
import {
  type Client,
  type ClientOptions,
  NO_TELEMETRY,
  rejectionOf,
  sleep,
  useHarness,
} from '../support.js';

const h = useHarness();

/** The `fallback` events a client emits. */
function fallbackEvents(client: Client): FallbackEvent[] {
  const seen: FallbackEvent[] = [];
  client.events.fallback.event((e) => seen.push(e));
  return seen;
}

/** What the events said, without the call context. */
const said = (events: FallbackEvent[]) =>
  events.map(({ kind, trigger, served }) => ({ kind, trigger, served }));

/** Raw loopback servers of this file (closed after each test), for bodies sent in parts. */
const rawServers: Server[] = [];
afterEach(async () => {
  for (const server of rawServers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function rawServer(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    req.resume();
    handle(req, res);
  });
  rawServers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A client that answers 503s with stale answers, and never retries them. */
function staleClient(url: string, serveStale: object = {}, more: Partial<ClientOptions> = {}) {
  return h.client(url, {
    retry: false,
    fallback: { on: ['server_error'], serveStale },
    ...more,
  });
}

describe('serve stale', () => {
  it('answers an open breaker with the last good response, marked stale with its age, and says so in an event', async () => {
    let failing = false;
    const server = await h.server((request) => {
      if (failing) return { status: 503 };
      return request.path === '/forecast'
        ? {
            status: 200,
            headers: {
              'content-type': 'application/json',
              'x-request-id': 'r-1',
              'cache-control': 'max-age=0',
            },
            body: '{"temperatureC":21}',
          }
        : { status: 200 };
    });
    const client = h.client(server.url, {
      retry: false,
      circuitBreaker: {
        failureRatio: 0.5,
        minimumThroughput: 4,
        samplingDurationMs: 60_000,
        breakDurationMs: 60_000,
      },
      fallback: { on: ['circuit_open'] },
    });
    const events = fallbackEvents(client);

    const fresh = await client.fetch('/forecast');
    expect(fresh.headers.get('x-steadfast-fallback')).toBeNull();
    expect(await fresh.json()).toEqual({ temperatureC: 21 });

    failing = true;
    // 1 success and 3 failures: past the ratio at the minimum throughput, the breaker opens.
    for (let i = 0; i < 3; i++) expect((await client.fetch('/down')).status).toBe(503);
    expect(events).toEqual([]); // a 503 is not what this fallback answers for
    expect(isCircuitOpenError(await rejectionOf(client.fetch('/down')))).toBe(true);
    const sent = server.requests.length;

    const stale = await client.fetch('/forecast');
    expect(server.requests).toHaveLength(sent); // the breaker is open: nothing was sent
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-steadfast-fallback')).toBe('stale');
    expect(stale.headers.get('age')).toBe('0');
    expect(stale.headers.get('x-request-id')).toBe('r-1');
    expect(stale.headers.get('content-type')).toBe('application/json');
    expect(await stale.json()).toEqual({ temperatureC: 21 });

    // The /down call had no entry: wanted, and none found.
    expect(said(events)).toEqual([
      { kind: 'stale', trigger: 'circuit_open', served: false },
      { kind: 'stale', trigger: 'circuit_open', served: true },
    ]);
    expect(events[1]!.ctx.path).toBe('/forecast');
    expect(events[1]!.ageMs).toBeGreaterThanOrEqual(0);
    expect(events[1]!.ageMs).toBeLessThan(10_000);
    expect(events[0]!.ageMs).toBeUndefined();

    // Each stale answer is a copy: reading one leaves the entry whole for the next.
    const again = await client.request('/forecast');
    expect(await again.body.text()).toBe('{"temperatureC":21}');
  });

  it('counts the age in seconds from when the response arrived, on top of an upstream age', async () => {
    let failing = false;
    const server = await h.server(() =>
      failing ? { status: 503 } : { status: 200, headers: { age: '7' }, body: 'cached upstream' },
    );
    const client = staleClient(server.url);
    const events = fallbackEvents(client);
    expect(await (await client.fetch('/x')).text()).toBe('cached upstream');
    await sleep(1100);
    failing = true;

    const stale = await client.fetch('/x');
    const ageMs = events[0]!.ageMs!;
    expect(ageMs).toBeGreaterThanOrEqual(1000);
    expect(stale.headers.get('age')).toBe(String(7 + Math.floor(ageMs / 1000)));
    expect(await stale.text()).toBe('cached upstream');
  });

  it('never serves an answer older than maxAgeMs: the failure stands', async () => {
    let failing = false;
    const server = await h.server(() => (failing ? { status: 503 } : { status: 200, body: 'old' }));
    const client = staleClient(server.url, { maxAgeMs: 150 });
    const events = fallbackEvents(client);
    expect(await (await client.fetch('/x')).text()).toBe('old');
    await sleep(300);
    failing = true;

    const answer = await client.fetch('/x');
    expect(answer.status).toBe(503);
    expect(answer.headers.get('x-steadfast-fallback')).toBeNull();
    expect(said(events)).toEqual([{ kind: 'stale', trigger: '503', served: false }]);
  });

  it('keys by method, origin and path with its query', async () => {
    let failing = false;
    const server = await h.server((request) =>
      failing ? { status: 503 } : { status: 200, body: `page of ${request.path}` },
    );
    const client = staleClient(server.url);
    for (const path of ['/items?page=1', '/items?page=2']) await (await client.fetch(path)).text();
    failing = true;

    expect(await (await client.fetch('/items?page=2')).text()).toBe('page of /items?page=2');
    expect(await (await client.fetch('/items?page=1')).text()).toBe('page of /items?page=1');
    expect((await client.fetch('/items?page=3')).status).toBe(503);
    // HEAD has entries of its own.
    expect((await client.fetch('/items?page=1', { method: 'HEAD' })).status).toBe(503);
  });

  it('keeps an answer to HEAD and a 204, which have no body to read', async () => {
    let failing = false;
    const server = await h.server((request) =>
      failing
        ? { status: 503 }
        : request.path === '/empty'
          ? { status: 204, headers: { etag: '"e1"' } }
          : { status: 200, headers: { etag: '"h1"' }, body: 'not sent to HEAD' },
    );
    const client = staleClient(server.url);
    expect((await client.fetch('/empty')).status).toBe(204); // never read
    expect((await client.fetch('/head', { method: 'HEAD' })).status).toBe(200);
    failing = true;

    const empty = await client.fetch('/empty');
    expect(empty.status).toBe(204);
    expect(empty.headers.get('etag')).toBe('"e1"');
    expect(empty.headers.get('x-steadfast-fallback')).toBe('stale');
    const head = await client.fetch('/head', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe('"h1"');
    expect(await head.text()).toBe('');
  });

  it('records a streamed body as it passes, without holding it back, and keeps it once read to the end', async () => {
    // A server that sends half the body, then the rest only when told to.
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let failing = false;
    const url = await rawServer((_req, res) => {
      if (failing) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first half, ');
      void released.then(() => res.end('second half'));
    });
    const client = staleClient(url);
    const events = fallbackEvents(client);
    const response = await client.fetch('/feed');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();

    // The first chunk reaches the caller while the server still holds the rest.
    const first = await reader.read();
    expect(decoder.decode(first.value)).toBe('first half, ');
    release();
    let rest = '';
    for (let next = await reader.read(); !next.done; next = await reader.read())
      rest += decoder.decode(next.value, { stream: true });
    expect(rest).toBe('second half');

    failing = true;
    const stale = await client.fetch('/feed');
    expect(stale.headers.get('x-steadfast-fallback')).toBe('stale');
    expect(await stale.text()).toBe('first half, second half');
    expect(said(events)).toEqual([{ kind: 'stale', trigger: '503', served: true }]);
  });

  it('records a body read with for await, and one read with arrayBuffer(), each a copy of its own', async () => {
    let failing = false;
    const server = await h.server((request) =>
      failing ? { status: 503 } : { status: 200, body: `body of ${request.path}` },
    );
    const client = staleClient(server.url);
    const iterated = await client.request('/iterated');
    const parts: Buffer[] = [];
    for await (const chunk of iterated.body) parts.push(chunk);
    expect(Buffer.concat(parts).toString()).toBe('body of /iterated');
    const buffer = new Uint8Array(await (await client.fetch('/buffer')).arrayBuffer());
    buffer.fill(0x21); // the caller may write to what it got: the entry is a copy
    failing = true;

    expect(await (await client.fetch('/iterated')).text()).toBe('body of /iterated');
    expect(await (await client.fetch('/buffer')).text()).toBe('body of /buffer');
  });

  it('never keeps a body the caller did not read to its end: unread, cut short, aborted', async () => {
    const big = Buffer.alloc(256 * 1024, 'a');
    let failing = false;
    const server = await h.server((request) => {
      if (failing) return { status: 503 };
      if (request.path === '/held') return { status: 200, body: 'part', holdOpen: true };
      return { status: 200, body: request.path === '/big' ? big : 'small' };
    });
    const client = staleClient(server.url, { maxEntryBytes: 512 * 1024, maxTotalBytes: 1 << 20 });
    const events = fallbackEvents(client);

    await client.fetch('/unread'); // the caller looks at the status only
    const dumped = await client.request('/dumped');
    await dumped.body.dump();

    const cut = await client.fetch('/big');
    const reader = cut.body!.getReader();
    await reader.read(); // one chunk of 256 KiB, then the caller stops
    await reader.cancel();

    const controller = new AbortController();
    const held = await client.fetch('/held', { signal: controller.signal });
    const heldReader = held.body!.getReader();
    await heldReader.read(); // "part" arrived; the rest never will
    controller.abort();
    await expect(heldReader.read()).rejects.toThrow();

    failing = true;
    for (const path of ['/unread', '/dumped', '/big', '/held'])
      expect((await client.fetch(path)).status, path).toBe(503);
    expect(events.map((e) => e.served)).toEqual([false, false, false, false]);
  });

  it('never keeps a failure, a 206 part, a 201, a no-store or Vary: * answer, nor a body larger than an entry', async () => {
    const large = Buffer.alloc(4096, 'x');
    const answers: Record<string, ScriptedResponse> = {
      '/teapot': { status: 418, body: 'no' },
      '/partial': { status: 206, headers: { 'content-range': 'bytes 0-3/10' }, body: 'part' },
      '/created': { status: 201, body: 'made' },
      '/secret': { status: 200, headers: { 'cache-control': 'private, No-Store' }, body: 'mine' },
      '/varies': { status: 200, headers: { vary: 'accept, *' }, body: 'depends' },
      '/large': { status: 200, body: large },
    };
    let failing = false;
    const server = await h.server((request) =>
      failing ? { status: 503 } : answers[request.path]!,
    );
    const client = staleClient(server.url, { maxEntryBytes: 1024 });
    const events = fallbackEvents(client);
    for (const path of Object.keys(answers)) await (await client.fetch(path)).arrayBuffer();
    // Without a content-length, the bound is found while the body streams past.
    const chunked = await rawServer((_req, res) => {
      if (failing) res.writeHead(503).end();
      else {
        res.writeHead(200);
        res.write(large); // chunked: no content-length
        res.end();
      }
    });
    const streamed = staleClient(chunked, { maxEntryBytes: 1024 });
    const parts: Buffer[] = [];
    for await (const chunk of (await streamed.request('/large')).body) parts.push(chunk);
    expect(Buffer.concat(parts).length).toBe(large.length);
    failing = true;

    for (const path of Object.keys(answers))
      expect((await client.fetch(path)).status, path).toBe(503);
    expect(events.map((e) => e.served)).toEqual(Object.keys(answers).map(() => false));
    expect((await streamed.fetch('/large')).status).toBe(503);
  });

  it('never keeps a JSON body that does not parse', async () => {
    let failing = false;
    const server = await h.server(() =>
      failing
        ? { status: 503 }
        : { status: 200, headers: { 'content-type': 'application/json' }, body: '{"cut": ' },
    );
    const client = staleClient(server.url);
    await expect((await client.fetch('/parsed')).json()).rejects.toThrow(SyntaxError);
    expect(await (await client.fetch('/as-text')).text()).toBe('{"cut": ');
    failing = true;

    expect((await client.fetch('/parsed')).status).toBe(503);
    // Read as text (as getJson does), it is checked before it is served again.
    expect((await client.fetch('/as-text')).status).toBe(503);
  });

  it("keeps the last good answer only: a newer 404 or no-store answer drops it, a 5xx or 429 does not, and a successful DELETE drops its URL's", async () => {
    const script: Record<
      string,
      { status: number; body?: string; headers?: Record<string, string> }
    > = {};
    const server = await h.server((request) => {
      const key = `${request.method} ${request.path}`;
      return script[key] ?? script[request.path] ?? { status: 200, body: `good ${request.path}` };
    });
    const client = staleClient(
      server.url,
      {},
      { fallback: { on: ['server_error', 'rate_limited'] } },
    );
    for (const path of ['/gone', '/private', '/busy', '/deleted'])
      await (await client.fetch(path)).text();

    script['/gone'] = { status: 404 };
    script['/private'] = { status: 200, headers: { 'cache-control': 'no-store' }, body: 'new' };
    script['/busy'] = { status: 429 };
    script['DELETE /deleted'] = { status: 204 };
    expect((await client.fetch('/gone')).status).toBe(404);
    expect(await (await client.fetch('/private')).text()).toBe('new');
    const limited = await client.fetch('/busy'); // a 429 after the retries: answered stale
    expect(limited.headers.get('x-steadfast-fallback')).toBe('stale');
    expect(await limited.text()).toBe('good /busy');
    expect((await client.fetch('/deleted', { method: 'DELETE' })).status).toBe(204);

    for (const path of ['/gone', '/private', '/busy', '/deleted']) script[path] = { status: 503 };
    expect((await client.fetch('/gone')).status).toBe(503);
    expect((await client.fetch('/private')).status).toBe(503);
    expect(await (await client.fetch('/busy')).text()).toBe('good /busy');
    expect((await client.fetch('/deleted')).status).toBe(503);
  });

  it('does not cache a call that carries credentials of its own, unless a key says how', async () => {
    let failing = false;
    const server = await h.server((request) =>
      failing ? { status: 503 } : { status: 200, body: `for ${request.headers.authorization}` },
    );
    const own = { authorization: 'Bearer user-a' };
    const plain = staleClient(server.url);
    await (await plain.fetch('/me', { headers: own })).text();
    const keyed = staleClient(server.url, {
      key: (ctx: { method: string; path: string; headers: Record<string, string> }) =>
        `${ctx.method} ${ctx.path} ${ctx.headers.authorization}`,
    });
    await (await keyed.fetch('/me', { headers: own })).text();
    failing = true;

    expect((await plain.fetch('/me', { headers: own })).status).toBe(503);
    expect(await (await keyed.fetch('/me', { headers: own })).text()).toBe('for Bearer user-a');
    expect((await keyed.fetch('/me', { headers: { authorization: 'Bearer user-b' } })).status).toBe(
      503,
    );
  });

  it('caches any method a key function names, and skips calls it returns undefined for', async () => {
    let failing = false;
    const server = await h.server((request) =>
      failing ? { status: 503 } : { status: 200, body: `answer to ${request.body.toString()}` },
    );
    const client = staleClient(server.url, {
      key: (ctx: { method: string; path: string; context: { cache?: boolean } }) =>
        ctx.context.cache === false ? undefined : `${ctx.method} ${ctx.path}`,
    });
    await (await client.fetch('/graphql', { method: 'POST', body: 'query' })).text();
    await (await client.fetch('/fresh-only', { context: { cache: false } })).text();
    failing = true;

    const stale = await client.fetch('/graphql', { method: 'POST', body: 'query' });
    expect(await stale.text()).toBe('answer to query');
    expect((await client.fetch('/fresh-only', { context: { cache: false } })).status).toBe(503);
  });

  it('leaves out hop-by-hop and secret-bearing headers', async () => {
    let failing = false;
    const server = await h.server(() =>
      failing
        ? { status: 503 }
        : {
            status: 200,
            headers: {
              'set-cookie': ['session=s3cr3t; HttpOnly', 'theme=dark'],
              'authentication-info': 'nextnonce="s3cr3t"',
              connection: 'keep-alive, x-hop',
              'x-hop': 'per-connection',
              'x-kept': 'yes',
            },
            body: 'ok',
          },
    );
    const client = staleClient(server.url);
    await (await client.fetch('/x')).text();
    failing = true;

    const stale = await client.request('/x');
    expect(stale.headers['x-kept']).toBe('yes');
    expect(JSON.stringify(stale.headers)).not.toContain('s3cr3t');
    for (const name of ['set-cookie', 'authentication-info', 'connection', 'x-hop', 'keep-alive'])
      expect(stale.headers[name], name).toBeUndefined();
    await stale.body.dump();
  });

  it('bounds the entries: past maxEntries or maxTotalBytes the least recently used goes', async () => {
    let failing = false;
    const body = Buffer.alloc(1200, 'b');
    const server = await h.server((request) =>
      failing
        ? { status: 503 }
        : { status: 200, body: request.path.startsWith('/big') ? body : 'x' },
    );
    const byCount = staleClient(server.url, { maxEntries: 2 });
    // Each big entry counts 1 200 bytes and its headers (~100): two fit in 3 000, three do not.
    const byBytes = staleClient(server.url, { maxEntryBytes: 3000, maxTotalBytes: 3000 });
    for (const path of ['/a', '/b', '/c']) await (await byCount.fetch(path)).text();
    for (const path of ['/big1', '/big2', '/big3']) await (await byBytes.fetch(path)).text();
    failing = true;

    expect((await byCount.fetch('/a')).status).toBe(503);
    expect((await byCount.fetch('/b')).headers.get('x-steadfast-fallback')).toBe('stale');
    expect((await byCount.fetch('/c')).headers.get('x-steadfast-fallback')).toBe('stale');
    expect((await byBytes.fetch('/big1')).status).toBe(503);
    expect((await byBytes.fetch('/big2')).headers.get('x-steadfast-fallback')).toBe('stale');
    expect((await byBytes.fetch('/big3')).headers.get('x-steadfast-fallback')).toBe('stale');
  });

  it('holds what its bounds allow, in entries and bytes, and nothing once the client closed', async () => {
    const server = await h.server((request) => ({
      status: 200,
      body: Buffer.alloc(Number(request.path.slice(1)), 'b'),
    }));
    const pipeline = buildCallPipeline(
      resolveOptions({
        name: 'bounds',
        telemetry: NO_TELEMETRY,
        retry: false,
        fallback: { serveStale: { maxEntries: 3, maxEntryBytes: 2000, maxTotalBytes: 4000 } },
      }),
      new ClientEvents(),
    );
    const fallback = pipeline.strategies.find((s) => s.name === 'fallback') as Fallback;
    /** A GET of a body of `bytes` bytes, read whole. */
    const read = async (bytes: number) => {
      const call = new Call({
        client: 'bounds',
        method: 'GET',
        origin: server.url,
        path: `/${bytes}`,
        operation: 'GET',
        headers: {},
        body: emptyBody,
        maxResponseBytes: 1 << 20,
        signal: undefined,
        idempotent: true,
        url: undefined,
      });
      const outcome = await pipeline.execute(call);
      if (outcome.kind !== 'response') throw outcome.error;
      await outcome.response.body.text();
    };
    try {
      expect(fallback.staleEntries).toEqual({ entries: 0, bytes: 0 });
      await read(100);
      const headerBytes = fallback.staleEntries!.bytes - 100;
      expect(headerBytes).toBeGreaterThan(0); // headers count too
      for (const bytes of [101, 102, 103]) await read(bytes);
      expect(fallback.staleEntries).toEqual({ entries: 3, bytes: 306 + 3 * headerBytes });
      await read(5000); // larger than an entry: not kept, nothing evicted
      expect(fallback.staleEntries!.entries).toBe(3);
      for (const bytes of [1500, 1501, 1502]) await read(bytes);
      // 3 × ~1 600 is past 4 000: the oldest of them went too.
      expect(fallback.staleEntries!.entries).toBe(2);
      expect(fallback.staleEntries!.bytes).toBeLessThanOrEqual(4000);
    } finally {
      await pipeline.close(() => new Error('closed'));
    }
    expect(fallback.staleEntries).toEqual({ entries: 0, bytes: 0 });
  });

  it('answers a refusal of the rate limiter with the last good response', async () => {
    const server = await h.server([{ status: 200, body: 'first' }]);
    const client = staleClient(
      server.url,
      {},
      {
        rateLimit: { limit: 1, intervalMs: 60_000, maxWaitMs: 0 },
        fallback: { on: ['rate_limited'] },
      },
    );
    const events = fallbackEvents(client);
    expect(await (await client.fetch('/quota')).text()).toBe('first');

    const stale = await client.fetch('/quota');
    expect(stale.headers.get('x-steadfast-fallback')).toBe('stale');
    expect(await stale.text()).toBe('first');
    expect(server.requests).toHaveLength(1);
    expect(said(events)).toEqual([{ kind: 'stale', trigger: 'rate_limited', served: true }]);
    // Another path has nothing to serve: the refusal stands.
    expect(isRateLimitedError(await rejectionOf(client.fetch('/other')))).toBe(true);
  });
});

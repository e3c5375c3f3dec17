import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createClient,
  InvalidConfigurationError,
  isResponseTooLargeError,
  isTimeoutError,
  ResponseTooLargeError,
  TimeoutError,
} from '../../../packages/steadfast/src/index.js';
import { NO_TELEMETRY, rejectionOf, useHarness } from '../support.js';

const h = useHarness();

/** A loopback server whose handler streams what it likes; it records when sockets close. */
interface StreamingServer {
  readonly url: string;
  /** Resolves when the client has closed (or reset) the connection of a request. */
  socketClosed(): Promise<void>;
  close(): Promise<void>;
}

const servers: StreamingServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function streamingServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<StreamingServer> {
  const sockets = new Set<Socket>();
  let closed: () => void = () => {};
  const closedOnce = new Promise<void>((resolve) => {
    closed = resolve;
  });
  const server = createServer(handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      closed();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const streaming: StreamingServer = {
    url: `http://127.0.0.1:${port}`,
    socketClosed: () => closedOnce,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(streaming);
  return streaming;
}

/** A body that never ends: 64 KiB chunks as fast as the client takes them. */
function endless(res: ServerResponse, contentType = 'application/json'): void {
  res.writeHead(200, { 'content-type': contentType });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  res.write('[');
  const pump = () => {
    while (res.write(chunk)) {
      if (res.destroyed) return;
    }
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
  res.on('error', () => {});
}

/** Headers and a first chunk, then silence. */
function stalled(res: ServerResponse, contentLength?: number): void {
  res.writeHead(
    200,
    contentLength === undefined ? {} : { 'content-length': String(contentLength) },
  );
  res.write('{"partial":');
  res.on('error', () => {});
}

describe('response bodies read whole are bounded', () => {
  it('text() of an endless body rejects with ResponseTooLargeError past maxResponseBytes and the connection is closed', async () => {
    const server = await streamingServer((_req, res) => endless(res));
    const client = h.client(server.url, { maxResponseBytes: 1024 * 1024 });

    const res = await client.fetch('/forever?token=SECRET');
    const error = await rejectionOf(res.text());

    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(isResponseTooLargeError(error)).toBe(true);
    expect((error as ResponseTooLargeError).code).toBe('ERR_STEADFAST_RESPONSE_TOO_LARGE');
    expect((error as ResponseTooLargeError).limitBytes).toBe(1024 * 1024);
    expect((error as Error).message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/forever\?…: /);
    expect((error as Error).message).not.toContain('SECRET');
    await server.socketClosed();
  });

  it('the default limit (32 MiB) stops an endless body too, for every whole-body read and the JSON helpers', async () => {
    const server = await streamingServer((_req, res) => endless(res));
    const client = h.client(server.url);

    for (const read of [
      async () => (await client.fetch('/x')).arrayBuffer(),
      async () => (await client.request('/x')).body.json(),
      async () => (await client.fetch('/x')).blob(),
      () => client.getJson('/x'),
      () => client.postJson('/x', { q: 1 }, { idempotent: true }),
    ]) {
      const error = await rejectionOf(read());
      expect(error).toBeInstanceOf(ResponseTooLargeError);
      expect((error as ResponseTooLargeError).limitBytes).toBe(32 * 1024 * 1024);
    }
  });

  it('a content-length over the limit fails at once, without waiting for the bytes', async () => {
    const server = await streamingServer((_req, res) => stalled(res, 10 * 1024 * 1024));
    // The body stalls after a few bytes: only the up-front check can end the read quickly.
    const client = h.client(server.url, { maxResponseBytes: 1024 * 1024, bodyTimeoutMs: 60_000 });

    const res = await client.fetch('/big');
    const started = performance.now();
    const error = await rejectionOf(res.text());

    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(performance.now() - started).toBeLessThan(5_000); // not the 60 s body timeout
    await server.socketClosed();
  });

  it('the limit is per call: a call may lower or raise it', async () => {
    const body = 'x'.repeat(5_000);
    const server = await h.server(() => ({ status: 200, body }));
    const client = h.client(server.url, { maxResponseBytes: 4_000 });

    await expect((await client.fetch('/x')).text()).rejects.toBeInstanceOf(ResponseTooLargeError);
    expect(await (await client.fetch('/x', { maxResponseBytes: 5_000 })).text()).toBe(body);
    await expect(
      (await client.request('/x', { maxResponseBytes: 100 })).body.text(),
    ).rejects.toBeInstanceOf(ResponseTooLargeError);
    await expect(client.getJson('/x', { maxResponseBytes: 4_999 })).rejects.toBeInstanceOf(
      ResponseTooLargeError,
    );
  });

  it('streaming reads are not limited', async () => {
    const server = await streamingServer((_req, res) => endless(res));
    const client = h.client(server.url, { maxResponseBytes: 64 * 1024 });

    const res = await client.fetch('/x');
    let received = 0;
    const reader = res.body!.getReader();
    while (received <= 4 * 1024 * 1024) {
      const { value } = await reader.read();
      received += value!.length;
    }
    await reader.cancel();
    const raw = await client.request('/x');
    let rawReceived = 0;
    for await (const chunk of raw.body) {
      rawReceived += chunk.length;
      if (rawReceived > 4 * 1024 * 1024) break;
    }

    expect(received).toBeGreaterThan(4 * 1024 * 1024);
    expect(rawReceived).toBeGreaterThan(4 * 1024 * 1024);
  });

  it('a body read whole is still returned in full up to the limit', async () => {
    const body = JSON.stringify({ items: 'y'.repeat(200_000) });
    const server = await h.server(() => ({ status: 200, body }));
    const client = h.client(server.url, { maxResponseBytes: body.length });

    expect(await (await client.fetch('/x')).text()).toBe(body);
    expect(await client.getJson('/x')).toEqual(JSON.parse(body));
  });
});

describe('the body timeout', () => {
  it('a body that stalls rejects text() with a TimeoutError of kind body, and the connection is closed', async () => {
    const server = await streamingServer((_req, res) => stalled(res));
    const client = h.client(server.url, { bodyTimeoutMs: 300 });

    const res = await client.fetch('/stall');
    const error = await rejectionOf(res.text());

    expect(error).toBeInstanceOf(TimeoutError);
    expect(isTimeoutError(error)).toBe(true);
    expect((error as TimeoutError).kind).toBe('body');
    expect((error as TimeoutError).code).toBe('ERR_STEADFAST_TIMEOUT');
    expect((error as TimeoutError).timeoutMs).toBe(300);
    await server.socketClosed();
  });

  it('applies to streaming reads and the JSON helpers too', async () => {
    const server = await streamingServer((_req, res) => stalled(res));
    const client = h.client(server.url, { bodyTimeoutMs: 200 });

    const stream = (await client.fetch('/stall')).body!.getReader();
    await stream.read(); // the first chunk arrived
    const streamError = await rejectionOf(stream.read());
    const jsonError = await rejectionOf(client.getJson('/stall'));

    expect((streamError as TimeoutError).kind).toBe('body');
    expect((jsonError as TimeoutError).kind).toBe('body');
  });

  it('a slow body that keeps sending within the timeout is read in full', async () => {
    const server = await streamingServer((_req, res) => {
      res.writeHead(200);
      let sent = 0;
      const timer = setInterval(() => {
        res.write('z'.repeat(100));
        if (++sent === 8) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
    });
    const client = h.client(server.url, { bodyTimeoutMs: 400 });

    expect(await (await client.fetch('/slow')).text()).toBe('z'.repeat(800));
  });
});

describe('validation', () => {
  it.each([
    ['maxResponseBytes', -1],
    ['maxResponseBytes', 1.5],
    ['maxResponseBytes', '1mb'],
    ['maxResponseBytes', null],
    ['maxResponseBytes', 2 ** 40],
    ['bodyTimeoutMs', 0],
    ['bodyTimeoutMs', null],
    ['bodyTimeoutMs', '1s'],
  ])('%s: %j fails at construction', (field, value) => {
    expect(() =>
      createClient({ name: 'c', telemetry: NO_TELEMETRY, [field]: value } as never),
    ).toThrow(InvalidConfigurationError);
  });

  it.each([-1, 1.5, '10', null])(
    'a per-call maxResponseBytes of %j rejects the call, naming the field',
    async (value) => {
      const server = await h.server();
      const client = h.client(server.url);

      const error = await rejectionOf(client.fetch('/x', { maxResponseBytes: value as never }));

      expect((error as { code?: string }).code).toBe('ERR_STEADFAST_INVALID_REQUEST');
      expect((error as Error).message).toContain('maxResponseBytes');
      expect(server.requests).toHaveLength(0);
    },
  );
});

/**
 * The response body as the transport delivers it (IncomingBody): flow control, dump, failures
 * mid-body and cancellation, against real loopback servers that stream large bodies.
 */
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, useHarness } from '../support.js';

const h = useHarness();
const MiB = 1024 * 1024;

/** A server that streams `totalBytes` in 64 KiB chunks, honouring backpressure, and counts what it wrote. */
async function streamingServer(totalBytes: number) {
  const chunk = Buffer.alloc(64 * 1024, 97);
  const state = { written: 0, finished: false, closedEarly: 0, sockets: new Set<Socket>() };
  const server: Server = createServer(async (_req, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': totalBytes,
    });
    res.on('close', () => {
      if (!res.writableFinished) state.closedEarly++;
    });
    let sent = 0;
    while (sent < totalBytes && !res.destroyed) {
      const size = Math.min(chunk.length, totalBytes - sent);
      sent += size;
      state.written += size;
      if (!res.write(size === chunk.length ? chunk : chunk.subarray(0, size))) {
        await drainOrClose(res);
      }
    }
    if (!res.destroyed) res.end(() => (state.finished = true));
  });
  server.on('connection', (socket) => {
    state.sockets.add(socket);
    socket.on('close', () => state.sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  opened.push(server);
  return { url, state };
}

/** Wait for `drain` or `close`, leaving no listener behind (`events.once` would leave the other). */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

const opened: Server[] = [];
afterEach(async () => {
  for (const server of opened.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

describe('the response body', () => {
  it('pauses the socket when nobody reads it, and then delivers every byte', async () => {
    const total = 96 * MiB;
    const { url, state } = await streamingServer(total);
    const client = h.client(url, { retry: false });

    const res = await client.request('/big');
    await sleep(500);
    // Unread, the client keeps ~64 KiB and the kernel's socket buffers: nowhere near 96 MiB.
    expect(state.written).toBeLessThan(32 * MiB);

    let received = 0;
    for await (const chunk of res.body) received += chunk.length;
    expect(received).toBe(total);
  });

  it('reads large bodies whole with text() and arrayBuffer()', async () => {
    const { url } = await streamingServer(3 * MiB + 5);
    const client = h.client(url, { retry: false });

    expect((await (await client.fetch('/a')).text()).length).toBe(3 * MiB + 5);
    expect((await (await client.fetch('/b')).arrayBuffer()).byteLength).toBe(3 * MiB + 5);
  });

  it('dump() keeps the connection for a small body and drops it for a large one', async () => {
    const small = await h.server(() => ({ status: 200, body: 'x'.repeat(1000) }));
    const client = h.client(small.url, { retry: false });
    await (await client.request('/1')).body.dump();
    await sleep(20); // the pool marks the connection free again
    await (await client.request('/2')).body.dump();
    expect(small.requests[0]!.remotePort).toBe(small.requests[1]!.remotePort);

    const { url, state } = await streamingServer(16 * MiB);
    const other = h.client(url, { retry: false });
    await (await other.request('/big')).body.dump();
    await sleep(100);
    expect(state.closedEarly).toBe(1);
    expect(state.written).toBeLessThan(16 * MiB);
  });

  it('rejects a read when the connection breaks mid-body, and never hangs', async () => {
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    opened.push(server);
    const client = h.client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      retry: false,
    });

    const viaText = await client.fetch('/a');
    await expect(viaText.text()).rejects.toThrow();
    const viaStream = await client.request('/b');
    await expect(
      (async () => {
        for await (const _ of viaStream.body);
      })(),
    ).rejects.toThrow();
  });

  it('cancelling the stream, or leaving a for-await early, closes the connection', async () => {
    const { url, state } = await streamingServer(64 * MiB);
    const client = h.client(url, { retry: false });

    const res = await client.fetch('/a');
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const raw = await client.request('/b');
    for await (const _ of raw.body) break;
    await sleep(100);
    expect(state.closedEarly).toBe(2);
  });

  it('can be read once', async () => {
    const server = await h.server(() => ({ status: 200, body: '{"a":1}' }));
    const client = h.client(server.url, { retry: false });
    const res = await client.request('/x');
    expect(await res.body.json()).toEqual({ a: 1 });
    expect(res.body.bodyUsed).toBe(true);
    await expect(res.body.text()).rejects.toThrow(TypeError);
    expect(() => res.body.stream()).toThrow(TypeError);
  });
});

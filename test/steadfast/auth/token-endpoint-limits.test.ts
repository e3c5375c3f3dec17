/**
 * Bounded bodies at the token endpoint and at issuer discovery: a huge or endless answer
 * fails at once with `response_too_large` and the connection is cut, instead of being read
 * until `tokenEndpointTimeoutMs` (or into memory).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenEndpointError } from '../../../packages/steadfast/src/auth/errors.js';
import { clientCredentials } from '../../../packages/steadfast/src/auth/index.js';
import { TokenUnavailableError } from '../../../packages/steadfast/src/errors.js';

/** A loopback server that answers every request with `handler` and records closed sockets. */
interface LoopbackServer {
  readonly url: string;
  /** Requests received, by path. */
  readonly paths: string[];
  /** Resolves when the socket of request `index` has closed. */
  socketClosed(index: number): Promise<void>;
  close(): Promise<void>;
}

const servers: LoopbackServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse, base: string) => void,
): Promise<LoopbackServer> {
  const paths: string[] = [];
  const closed: Promise<void>[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    // The client cutting the connection is the point: no error may escape.
    req.socket.on('error', () => {});
    req.on('error', () => {});
    res.on('error', () => {});
    // Not `once()`: it rejects on the ECONNRESET that a cut connection may raise first.
    closed.push(new Promise((resolve) => req.socket.on('close', () => resolve())));
    req.resume();
    req.on('end', () => handler(req, res, base));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const result: LoopbackServer = {
    url: base,
    paths,
    socketClosed: (index) => closed[index] ?? Promise.reject(new Error('no such request')),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(result);
  return result;
}

/** Writes `{"access_token":"` and then filler forever (until the client hangs up). */
function endlessBody(res: ServerResponse, status: number, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.write('{"access_token":"');
  const chunk = Buffer.alloc(16 * 1024, 'a');
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) {}
    if (!res.destroyed) res.once('drain', pump);
  };
  res.on('error', () => {});
  pump();
}

/** Sends headers announcing `length` bytes, then a first slice, then nothing. */
function announcedBody(res: ServerResponse, length: number) {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(length) });
  res.on('error', () => {});
  res.write('{"access_token":"');
}

/** Fetch a token and return the `TokenEndpointError` behind the failure, and how long it took. */
async function failure(options: { tokenUrl?: string; issuer?: string }) {
  const auth = clientCredentials({
    ...options,
    clientId: 'worker',
    clientSecret: 'limits-secret',
    tokenEndpointTimeoutMs: 10_000,
  });
  const started = performance.now();
  try {
    await auth.getToken();
    throw new Error('expected the token request to fail');
  } catch (error) {
    const elapsedMs = performance.now() - started;
    expect(error).toBeInstanceOf(TokenUnavailableError);
    const cause = (error as TokenUnavailableError).cause;
    expect(cause).toBeInstanceOf(TokenEndpointError);
    return { error: error as TokenUnavailableError, cause: cause as TokenEndpointError, elapsedMs };
  } finally {
    await auth.close();
  }
}

// The timeout is 10 s; a bounded read ends in milliseconds. 5 s leaves room for a slow CI.
const WELL_BEFORE_TIMEOUT_MS = 5_000;

describe('token endpoint response size', () => {
  it('fails at once on an endless 200 body and closes the connection', async () => {
    const server = await serve((_req, res) => endlessBody(res, 200));
    const { error, cause, elapsedMs } = await failure({ tokenUrl: `${server.url}/token` });
    expect(cause.errorType).toBe('response_too_large');
    expect(error.reason).toBe('response_too_large');
    expect(cause.message).toContain('64 KiB');
    expect(elapsedMs).toBeLessThan(WELL_BEFORE_TIMEOUT_MS);
    await server.socketClosed(0);
  });

  it('fails before reading when Content-Length announces too much', async () => {
    const server = await serve((_req, res) => announcedBody(res, 200 * 1024 * 1024));
    const { cause, elapsedMs } = await failure({ tokenUrl: `${server.url}/token` });
    expect(cause.errorType).toBe('response_too_large');
    expect(elapsedMs).toBeLessThan(WELL_BEFORE_TIMEOUT_MS);
    await server.socketClosed(0);
  });

  it('classifies an error answer by its status when its body is too large to read', async () => {
    const server = await serve((_req, res) => endlessBody(res, 503, { 'retry-after': '3' }));
    const { cause, elapsedMs } = await failure({ tokenUrl: `${server.url}/token` });
    expect(cause).toMatchObject({ errorType: '503', kind: 'retryable', retryAfterMs: 3000 });
    expect(elapsedMs).toBeLessThan(WELL_BEFORE_TIMEOUT_MS);
    await server.socketClosed(0);
  });

  it('still reads an ordinary token response', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'tok', token_type: 'Bearer', expires_in: 3600 }));
    });
    const auth = clientCredentials({
      tokenUrl: `${server.url}/token`,
      clientId: 'worker',
      clientSecret: 'limits-secret',
    });
    try {
      expect((await auth.getToken()).value).toBe('tok');
    } finally {
      await auth.close();
    }
  });
});

describe('issuer discovery document size', () => {
  it('fails at once on an endless metadata document and closes the connection', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"issuer":"x","padding":"`);
      const chunk = Buffer.alloc(16 * 1024, 'a');
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('error', () => {});
      pump();
    });
    const { cause, elapsedMs } = await failure({ issuer: server.url });
    expect(cause.errorType).toBe('response_too_large');
    expect(cause.message).toContain('256 KiB');
    expect(elapsedMs).toBeLessThan(WELL_BEFORE_TIMEOUT_MS);
    await server.socketClosed(0);
    // Stopped at the first document: a hostile issuer gets no second read.
    expect(server.paths).toEqual(['/.well-known/oauth-authorization-server']);
  });

  it('fails before reading when Content-Length announces a 200 MB document', async () => {
    const server = await serve((_req, res) => announcedBody(res, 200 * 1024 * 1024));
    const { cause, elapsedMs } = await failure({ issuer: server.url });
    expect(cause.errorType).toBe('response_too_large');
    expect(elapsedMs).toBeLessThan(WELL_BEFORE_TIMEOUT_MS);
    await server.socketClosed(0);
  });

  it.each([
    ['a short', (res: ServerResponse) => res.writeHead(404).end('{"error":"not found"}')],
    ['an endless', (res: ServerResponse) => endlessBody(res, 404)],
  ])(
    'skips a well-known URL that answers 404 with %s body, without reading it',
    async (_name, notFound) => {
      const server = await serve((req, res, base) => {
        if (req.url === '/.well-known/oauth-authorization-server') return notFound(res);
        res.writeHead(200, { 'content-type': 'application/json' });
        if (req.url === '/.well-known/openid-configuration') {
          res.end(JSON.stringify({ issuer: base, token_endpoint: `${base}/token` }));
        } else {
          res.end(JSON.stringify({ access_token: 'after-404', expires_in: 3600 }));
        }
      });
      const auth = clientCredentials({
        issuer: server.url,
        clientId: 'worker',
        clientSecret: 'limits-secret',
      });
      try {
        expect((await auth.getToken()).value).toBe('after-404');
        await server.socketClosed(0);
      } finally {
        await auth.close();
      }
    },
  );

  it('still discovers the token endpoint from an ordinary document', async () => {
    const server = await serve((req, res, base) => {
      if (req.url === '/.well-known/oauth-authorization-server') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ issuer: base, token_endpoint: `${base}/token` }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'discovered', expires_in: 3600 }));
    });
    const auth = clientCredentials({
      issuer: server.url,
      clientId: 'worker',
      clientSecret: 'limits-secret',
    });
    try {
      expect((await auth.getToken()).value).toBe('discovered');
    } finally {
      await auth.close();
    }
  });
});

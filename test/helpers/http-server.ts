/**
 * A real loopback HTTP server whose answers are scripted per request, for tests that must
 * see what actually went over the wire.
 *
 * @example
 * const server = await startScriptedServer([{ status: 503 }, { status: 503 }, { status: 200, body: 'ok' }]);
 * // ... call `${server.url}/path` three times ...
 * expect(server.requests.map((r) => r.method)).toEqual(['GET', 'GET', 'GET']);
 * await server.close();
 *
 * Each request consumes the next entry of the script; once the script is used up every
 * request gets `fallback` (default: `200 ok`). A script may also be a function of the
 * recorded request and its 0-based index (counted from the last `setScript()`). An entry is one of:
 * - `{ status, headers, body, delayMs }`: answer `status` (default 200) after `delayMs`
 *   (default 0); with `holdOpen: true` the body is sent but the response never ends;
 *   `setScript()` swaps the script mid-test (e.g. a server that recovers);
 * - `'reset'`: read the request, then destroy the socket (the client sees a reset);
 * - `'hang'`: read the request and never answer (until the client gives up or `close()`).
 *
 * Every request is recorded in `requests` as soon as its headers arrive (so a request
 * that hangs is counted); `body` fills in when the body has been read, and `complete`
 * tells whether the body arrived whole (false when the client cut it off mid-body).
 * `closedPort()` gives a port with nothing listening (connection refused).
 */
import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One scripted answer. */
export type ScriptedResponse =
  | {
      /** HTTP status, default 200. */
      readonly status?: number;
      /** Response headers, e.g. `{ 'retry-after': '1' }`; an array sends the header once per value. */
      readonly headers?: Record<string, string | string[]>;
      /** Response body, default `''` (an empty body; `'ok'` for the fallback). */
      readonly body?: string | Buffer;
      /** Wait this long after the request body arrived before answering. Default 0. */
      readonly delayMs?: number;
      /** Send the headers and `body` (chunked), then keep the response open: a stalled body. */
      readonly holdOpen?: boolean;
    }
  | 'reset'
  | 'hang';

/** A request as the server received it. */
export interface RecordedRequest {
  readonly index: number;
  readonly method: string;
  /** Path and query, as on the request line. */
  readonly path: string;
  /** Lower-case header names, as Node parses them. */
  readonly headers: IncomingHttpHeaders;
  /** The client's port: equal ports mean one reused keep-alive connection. */
  readonly remotePort: number | undefined;
  /** `performance.now()` when the request's headers arrived. */
  readonly receivedAt: number;
  /** The body bytes received (filled once the body ended or was cut off). */
  body: Buffer;
  /** True when the whole body arrived; false while reading or when the client cut it off. */
  complete: boolean;
}

export type Script =
  | readonly ScriptedResponse[]
  | ((request: RecordedRequest, index: number) => ScriptedResponse);

export interface ScriptedServerOptions {
  /** Answer once the array script is used up. Default `{ status: 200, body: 'ok' }`. */
  readonly fallback?: ScriptedResponse;
  /** Port to listen on, default 0 (a free port). */
  readonly port?: number;
  /** Loopback address to listen on, default `127.0.0.1` (`127.0.0.2` makes a second origin). */
  readonly host?: string;
}

export interface ScriptedServer {
  /** `http://HOST:PORT` (no trailing slash; HOST is 127.0.0.1 unless `host` was given). */
  readonly url: string;
  readonly port: number;
  /** Every request received so far, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Replace the script (and restart it from its first entry). Recorded requests stay. */
  setScript(script: Script): void;
  /** Connections from clients that are open now (keep-alive sockets included). */
  openConnections(): number;
  /** Resolves once `count` requests have been received (headers arrived). */
  waitForRequests(count: number): Promise<void>;
  /** Stop listening and destroy every open connection, hanging ones included. */
  close(): Promise<void>;
}

const DEFAULT_FALLBACK: ScriptedResponse = { status: 200, body: 'ok' };

/** Start a scripted server on 127.0.0.1 (or `options.host`). */
export async function startScriptedServer(
  script: Script = [],
  options: ScriptedServerOptions = {},
): Promise<ScriptedServer> {
  const fallback = options.fallback ?? DEFAULT_FALLBACK;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const waiters: { count: number; resolve: () => void }[] = [];
  const pendingTimers = new Set<NodeJS.Timeout>();
  let current: Script = script;
  let scriptStart = 0;

  const pick = (request: RecordedRequest): ScriptedResponse => {
    const position = request.index - scriptStart;
    if (typeof current === 'function') return current(request, position);
    return current[position] ?? fallback;
  };

  const answer = (res: ServerResponse, req: IncomingMessage, scripted: ScriptedResponse) => {
    if (scripted === 'hang') return;
    if (scripted === 'reset') {
      req.socket.destroy();
      return;
    }
    const send = () => {
      if (res.destroyed) return;
      const body = scripted.body ?? '';
      if (scripted.holdOpen) {
        res.writeHead(scripted.status ?? 200, { ...scripted.headers });
        res.write(body);
        return;
      }
      res.writeHead(scripted.status ?? 200, {
        'content-length': String(Buffer.byteLength(body)),
        ...scripted.headers,
      });
      res.end(body);
    };
    if (scripted.delayMs && scripted.delayMs > 0) {
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        send();
      }, scripted.delayMs);
      pendingTimers.add(timer);
    } else {
      send();
    }
  };

  const server: Server = createServer((req, res) => {
    const recorded: RecordedRequest = {
      index: requests.length,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      remotePort: req.socket.remotePort,
      receivedAt: performance.now(),
      body: Buffer.alloc(0),
      complete: false,
    };
    requests.push(recorded);
    for (const waiter of [...waiters]) {
      if (requests.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      recorded.body = Buffer.concat(chunks);
    });
    req.on('error', () => {});
    req.on('close', () => {
      if (!recorded.complete) recorded.body = Buffer.concat(chunks);
    });
    req.on('end', () => {
      recorded.body = Buffer.concat(chunks);
      recorded.complete = true;
      answer(res, req, pick(recorded));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const host = options.host ?? '127.0.0.1';
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    port,
    requests,
    setScript(next: Script) {
      current = next;
      scriptStart = requests.length;
    },
    openConnections: () => sockets.size,
    waitForRequests(count: number) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      for (const timer of pendingTimers) clearTimeout(timer);
      pendingTimers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/**
 * A loopback port with nothing listening on it: connecting gets ECONNREFUSED.
 * (Found by binding port 0 and closing; another process could grab it meanwhile, which
 * on a test machine is rare enough.)
 */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

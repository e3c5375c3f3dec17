/**
 * A loopback API for the hedging tests that sees what the scripted server cannot: which
 * requests the client gave up on. Each request is answered as `answer(request)` says — a
 * status and body after a delay, `'hang'` (never, until the client goes), or `'reset'` — and
 * recorded with `aborted: true` when the client closed it before the answer was sent.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Answer =
  | {
      readonly status?: number;
      readonly body?: string;
      readonly delayMs?: number;
      readonly headers?: Record<string, string>;
    }
  | 'hang'
  | 'reset';

export interface ApiRequest {
  readonly index: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** `performance.now()` when its headers arrived. */
  readonly receivedAt: number;
  /** The client closed it before the whole answer was sent. */
  aborted: boolean;
  /** The answer was sent whole. */
  answered: boolean;
}

export interface Api {
  /** `http://HOST:PORT` */
  readonly url: string;
  readonly requests: ApiRequest[];
  /** Requests the client gave up on so far. */
  aborted(): number;
  /** Connections open now. */
  openConnections(): number;
  /** Resolves once `check()` holds (polled every 5 ms), or rejects after `timeoutMs`. */
  until(check: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startApi(
  answer: (request: ApiRequest) => Answer,
  host = '127.0.0.1',
): Promise<Api> {
  const requests: ApiRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const request: ApiRequest = {
      index: requests.length,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      receivedAt: performance.now(),
      aborted: false,
      answered: false,
    };
    requests.push(request);
    res.on('close', () => {
      if (!res.writableFinished) request.aborted = true;
    });
    req.resume();
    req.on('end', () => {
      const scripted = answer(request);
      if (scripted === 'hang') return;
      if (scripted === 'reset') {
        req.socket.destroy();
        return;
      }
      const send = () => {
        if (res.destroyed) return;
        const body = scripted.body ?? 'ok';
        res.writeHead(scripted.status ?? 200, {
          'content-length': String(Buffer.byteLength(body)),
          ...scripted.headers,
        });
        res.end(body, () => {
          request.answered = true;
        });
      };
      if (!scripted.delayMs) {
        send();
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, scripted.delayMs);
      timers.add(timer);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    aborted: () => requests.filter((r) => r.aborted).length,
    openConnections: () => sockets.size,
    async until(check, timeoutMs = 5_000) {
      const started = performance.now();
      while (!check()) {
        if (performance.now() - started > timeoutMs) throw new Error('condition not met in time');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

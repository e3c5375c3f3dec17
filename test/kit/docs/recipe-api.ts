/**
 * The API the documentation's examples call, on loopback: one fresh server per example, so
 * each starts from the same state whatever ran before it.
 *
 * - `GET /weatherforecast[?days=N]`: `N` (default 5) `{ date, temperatureC }` objects;
 * - `/anything...`, any method: the request as received, httpbin's way —
 *   `{ method, url, headers, json }` (`json`: the parsed JSON body, or `null`);
 * - `GET /reports/yearly`: answers only after 10 s (a slow endpoint, for timeouts);
 * - `GET /reports/daily`: 404 once ("not generated yet"), then `{ rows: 42 }`;
 * - `GET /stock`: 503 twice, then `{ sku: 'A-1', available: 7 }`;
 * - `POST /orders`: creates `ord_<n>`, then drops the connection the first time it sees an
 *   `Idempotency-Key` (and always without one): the answer is lost. A re-send with a key it
 *   saw gets the order made then (201), not a new one. `GET /orders` lists the orders;
 *   `PATCH /orders/<id>` merges its JSON body into that order and answers with it.
 *
 * A bearer token a request carries must be active (`introspect`), else 401 with a Bearer
 * challenge; with `requireToken`, every request needs one.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecipeApiOptions {
  /** Is this bearer token active? (At the IdP, by introspection.) */
  readonly introspect: (token: string) => Promise<boolean>;
  /** Refuse requests without a token too. Default: false. */
  readonly requireToken?: boolean;
}

export interface RecipeApi {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Requests answered, and those refused for want of an active token. */
  stats(): { readonly answered: number; readonly unauthorized: number };
  close(): Promise<void>;
}

const SLOW_MS = 10_000;

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    })
    .end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startRecipeApi(options: RecipeApiOptions): Promise<RecipeApi> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const orders: { id: string; sku: unknown; [field: string]: unknown }[] = [];
  const byKey = new Map<string, { id: string; sku: unknown }>();
  const counts = new Map<string, number>();
  let answered = 0;
  let unauthorized = 0;
  const nth = (path: string) => {
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    return n;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const text = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://api.invalid');
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token !== undefined || options.requireToken) {
      if (token === undefined || !(await options.introspect(token))) {
        unauthorized += 1;
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="weather"' }).end();
        return;
      }
    }
    answered += 1;
    const route = `${req.method} ${url.pathname}`;
    if (url.pathname === '/anything' || url.pathname.startsWith('/anything/')) {
      const isJson = (req.headers['content-type'] ?? '').startsWith('application/json');
      json(res, 200, {
        method: req.method,
        url: req.url,
        headers: req.headers,
        json: isJson && text ? JSON.parse(text) : null,
      });
    } else if (route === 'GET /weatherforecast') {
      const days = Number(url.searchParams.get('days') ?? 5);
      json(
        res,
        200,
        Array.from({ length: days }, (_, i) => ({
          date: `2026-12-${String(5 + i).padStart(2, '0')}`,
          temperatureC: i - 2,
        })),
      );
    } else if (route === 'GET /reports/yearly') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        json(res, 200, { rows: 365 });
      }, SLOW_MS);
      timers.add(timer);
    } else if (route === 'GET /reports/daily') {
      if (nth(route) === 1) json(res, 404, { error: 'not generated yet' });
      else json(res, 200, { rows: 42 });
    } else if (route === 'GET /stock') {
      if (nth(route) <= 2) json(res, 503, { error: 'busy' });
      else json(res, 200, { sku: 'A-1', available: 7 });
    } else if (req.method === 'PATCH' && url.pathname.startsWith('/orders/')) {
      const order = orders.find((o) => o.id === url.pathname.slice('/orders/'.length));
      if (order) json(res, 200, Object.assign(order, text ? JSON.parse(text) : {}));
      else json(res, 404, { error: 'no such order' });
    } else if (route === 'GET /orders') {
      json(res, 200, orders);
    } else if (route === 'POST /orders') {
      const key = req.headers['idempotency-key'];
      const known = typeof key === 'string' ? byKey.get(key) : undefined;
      if (known) {
        json(res, 201, known);
        return;
      }
      const order = {
        id: `ord_${orders.length + 1}`,
        sku: (JSON.parse(text) as { sku: unknown }).sku,
      };
      orders.push(order);
      if (typeof key === 'string') byKey.set(key, order);
      req.socket.destroy(); // made, but the answer is lost
    } else {
      json(res, 404, { error: `no route ${route}` });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(error) });
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ answered, unauthorized }),
    async close() {
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

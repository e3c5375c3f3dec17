/**
 * A loopback API of fixed capacity, for the adaptive concurrency tests: `workers` requests are
 * served at once, each for `serviceMs`; the others wait their turn in one FIFO queue, so its
 * latency grows with its in-flight count past `workers` (a request whose client left while
 * it waited is dropped). `setCapacity` changes both for the next hand-over (an API that gets
 * faster or slower); `status` answers every request with another status (503: shedding).
 *
 * And closed-loop callers: each calls, waits for the answer, calls again, until the time is
 * up; one the client refuses (`ConcurrencyLimitedError`) waits `backoffMs` first.
 */
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isConcurrencyLimitedError } from '../../../packages/steadfast/src/index.js';
import type { Client } from '../support.js';

export interface CapacityApi {
  readonly url: string;
  /** Requests waiting for a worker plus those being served, now and at most. */
  readonly inflight: number;
  readonly peakInflight: number;
  readonly served: number;
  setCapacity(workers: number, serviceMs: number): void;
  /** Answer with this status from now on (200 by default). */
  setStatus(status: number): void;
  close(): Promise<void>;
}

export async function startCapacityApi(workers: number, serviceMs: number): Promise<CapacityApi> {
  let capacity = workers;
  let service = serviceMs;
  let status = 200;
  let busy = 0;
  let served = 0;
  let peakInflight = 0;
  const waiting: { readonly res: ServerResponse; readonly serve: () => void }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  const handOver = () => {
    while (busy < capacity && waiting.length > 0) {
      const next = waiting.shift()!;
      if (!next.res.destroyed) next.serve();
    }
  };

  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const serve = () => {
        busy++;
        const answer = status;
        const timer = setTimeout(() => {
          timers.delete(timer);
          busy--;
          served++;
          if (!res.destroyed) res.writeHead(answer, { 'content-length': '2' }).end('ok');
          handOver();
        }, service);
        timers.add(timer);
      };
      waiting.push({ res, serve });
      peakInflight = Math.max(peakInflight, busy + waiting.length);
      handOver();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get inflight() {
      return busy + waiting.length;
    },
    get peakInflight() {
      return peakInflight;
    },
    get served() {
      return served;
    },
    setCapacity(nextWorkers, nextServiceMs) {
      capacity = nextWorkers;
      service = nextServiceMs;
      handOver();
    },
    setStatus(next) {
      status = next;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** What closed-loop callers saw: each accepted call's end time and latency, and refusals. */
export interface LoadResult {
  readonly accepted: { readonly at: number; readonly latencyMs: number; readonly status: number }[];
  refused: number;
  failed: number;
}

/**
 * `callers` closed loops on `path` for `durationMs`, or until `done()` says so (checked
 * before each call); a refused one waits `backoffMs`.
 */
export async function closedLoop(
  client: Client,
  path: string,
  callers: number,
  durationMs: number,
  backoffMs: number,
  done: () => boolean = () => false,
): Promise<LoadResult> {
  const result: LoadResult = { accepted: [], refused: 0, failed: 0 };
  const end = performance.now() + durationMs;
  const caller = async () => {
    while (performance.now() < end && !done()) {
      const started = performance.now();
      try {
        const response = await client.fetch(path);
        await response.text();
        const at = performance.now();
        result.accepted.push({ at, latencyMs: at - started, status: response.status });
      } catch (error) {
        if (isConcurrencyLimitedError(error)) result.refused++;
        else result.failed++;
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  return result;
}

/** `read()` every `everyMs` until `until` settles. */
export async function sampleWhile<T>(
  until: Promise<unknown>,
  everyMs: number,
  read: () => T,
): Promise<T[]> {
  const values: T[] = [];
  let done = false;
  void until.finally(() => {
    done = true;
  });
  while (!done) {
    values.push(read());
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return values;
}

/** The median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * The loopback HTTP server the macro benchmarks call, run in its own process so its CPU is
 * not counted as the client's.
 *
 * Run directly (`node --import tsx bench/server.ts [port]`) it listens on 127.0.0.1 and
 * prints `PORT <n>` on stdout. Every request gets `200 {"ok":true}` (11 bytes, keep-alive).
 * Imported, `startBenchServer()` spawns it as a child process (pinned to CPU 0 with
 * `taskset` when there is more than one CPU and taskset exists) and resolves with its URL.
 *
 * Two implementations (BENCH_SERVER=net | node-http; default net):
 * - `net`: a minimal HTTP/1.1 responder on `node:net` — reads each request's header block
 *   (and a Content-Length body, if any) and writes one canned response per request, all the
 *   responses of one read in one write. It answers ~3× faster than `node:http`, so the client
 *   is the bottleneck and every contender's CPU per request is measured at the same
 *   saturation. With `node:http` the server is the bottleneck at concurrency 64: the client
 *   idles between responses, and how often it wakes per response (which depends on the
 *   server's timing, not the client's code) moves CPU per request by ±20 % between rounds.
 * - `node-http`: `node:http`'s server, as runs 1–10 in RESULTS.md used.
 *
 * BENCH_DELAY_MS=n (or `startBenchServer({ delayMs })`): every answer waits n ms first, as a
 * real API does; the client then idles between responses, and its CPU per request includes
 * what waking up for each response costs.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BODY = Buffer.from('{"ok":true}');
const HEADERS = {
  'content-type': 'application/json',
  'content-length': String(BODY.length),
};

const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 0);

function serveNodeHttp(port: number): void {
  const server = createServer((req, res) => {
    const answer = () => {
      res.writeHead(200, HEADERS);
      res.end(BODY);
    };
    // Drain any request body, then answer.
    req.resume();
    req.on('end', () => {
      if (DELAY_MS > 0) setTimeout(answer, DELAY_MS);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 61_000;
  server.maxRequestsPerSocket = 0;
  listen(server, port);
}

/** The canned answer of the `net` server: what `node:http` sends for the same reply. */
const RAW_RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${BODY.length}\r\n` +
    `date: ${new Date().toUTCString()}\r\nconnection: keep-alive\r\nkeep-alive: timeout=60\r\n\r\n` +
    BODY.toString('latin1'),
  'latin1',
);
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

function serveNet(port: number): void {
  const server = createNetServer((socket) => {
    socket.setNoDelay(true);
    let pending = ''; // the start of a request whose header block is not complete yet
    let bodyLeft = 0; // bytes of the current request's body still to skip
    socket.on('data', (chunk: Buffer) => {
      let data = pending + chunk.toString('latin1');
      pending = '';
      let answers = 0;
      let at = 0;
      for (;;) {
        if (bodyLeft > 0) {
          const skipped = Math.min(bodyLeft, data.length - at);
          bodyLeft -= skipped;
          at += skipped;
          if (bodyLeft > 0) break;
          answers++;
          continue;
        }
        const end = data.indexOf('\r\n\r\n', at);
        if (end < 0) {
          pending = data.slice(at);
          break;
        }
        const head = data.slice(at, end);
        if (/\r\ntransfer-encoding:/i.test(head)) {
          socket.end(
            'HTTP/1.1 501 Not Implemented\r\nconnection: close\r\ncontent-length: 0\r\n\r\n',
          );
          return;
        }
        at = end + 4;
        bodyLeft = Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
        if (bodyLeft === 0) answers++;
      }
      data = '';
      const write = () => {
        if (answers === 1) socket.write(RAW_RESPONSE);
        else if (answers > 1) socket.write(Buffer.concat(Array(answers).fill(RAW_RESPONSE)));
      };
      if (DELAY_MS > 0 && answers > 0) setTimeout(write, DELAY_MS);
      else write();
    });
    socket.on('error', () => socket.destroy());
  });
  listen(server, port);
}

function listen(
  server: {
    listen: (port: number, host: string, cb: () => void) => void;
    address(): unknown;
    close(cb: () => void): void;
  },
  port = Number(process.argv[2] ?? 0),
): void {
  server.listen(port, '127.0.0.1', () => {
    const address = server.address() as { port: number } | null;
    if (address && typeof address === 'object') process.stdout.write(`PORT ${address.port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  process.on('disconnect', () => process.exit(0));
}

/** Which server, and how long it waits before each answer (default: BENCH_SERVER, BENCH_DELAY_MS). */
export interface BenchServerOptions {
  readonly kind?: 'net' | 'node-http';
  readonly delayMs?: number;
}

export interface BenchServer {
  readonly url: string;
  /** `net` or `node-http`, plus the delay when there is one: what a results row names. */
  readonly label: string;
  /** True when the server was pinned to CPU 0 (and the client should take CPU 1). */
  readonly pinned: boolean;
  stop(): Promise<void>;
}

const hasTaskset = (): boolean => spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
/** Decided before this process pins itself (after that, availableParallelism() says 1). */
const CAN_PIN = availableParallelism() > 1 && hasTaskset();

/** Spawn the server process; resolves once it listens. */
export async function startBenchServer(options: BenchServerOptions = {}): Promise<BenchServer> {
  const self = fileURLToPath(import.meta.url);
  const pinned = CAN_PIN;
  const kind = options.kind ?? (process.env.BENCH_SERVER === 'node-http' ? 'node-http' : 'net');
  const delayMs = options.delayMs ?? Number(process.env.BENCH_DELAY_MS ?? 0);
  const nodeArgs = ['--import', 'tsx', self];
  const env = { ...process.env, BENCH_SERVER: kind, BENCH_DELAY_MS: String(delayMs) };
  const child: ChildProcess = pinned
    ? spawn('taskset', ['-c', '0', process.execPath, ...nodeArgs], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env,
      })
    : spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'inherit'], env });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const match = /PORT (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', (code) => reject(new Error(`bench server exited early (code ${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    label: delayMs > 0 ? `${kind}, answers after ${delayMs} ms` : kind,
    pinned,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Pin the current process to CPU 1 (when the server took CPU 0). */
export function pinSelfToCpu1(): boolean {
  if (!CAN_PIN) return false;
  return spawnSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' }).status === 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.argv[2] ?? 0);
  if (process.env.BENCH_SERVER === 'node-http') serveNodeHttp(port);
  else serveNet(port);
}

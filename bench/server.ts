/**
 * The loopback HTTP server the macro benchmarks call, run in its own process so its CPU is
 * not counted as the client's.
 *
 * Run directly (`node --import tsx bench/server.ts [port]`) it listens on 127.0.0.1 and
 * prints `PORT <n>` on stdout. Every request gets `200 {"ok":true}` (11 bytes, keep-alive).
 * Imported, `startBenchServer()` spawns it as a child process (pinned to CPU 0 with
 * `taskset` when there is more than one CPU and taskset exists) and resolves with its URL.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BODY = Buffer.from('{"ok":true}');
const HEADERS = {
  'content-type': 'application/json',
  'content-length': String(BODY.length),
};

function serve(port: number): void {
  const server = createServer((req, res) => {
    // Drain any request body, then answer.
    req.resume();
    req.on('end', () => {
      res.writeHead(200, HEADERS);
      res.end(BODY);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 61_000;
  server.maxRequestsPerSocket = 0;
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    if (address && typeof address === 'object') process.stdout.write(`PORT ${address.port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  process.on('disconnect', () => process.exit(0));
}

export interface BenchServer {
  readonly url: string;
  /** True when the server was pinned to CPU 0 (and the client should take CPU 1). */
  readonly pinned: boolean;
  stop(): Promise<void>;
}

const hasTaskset = (): boolean => spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

/** Spawn the server process; resolves once it listens. */
export async function startBenchServer(): Promise<BenchServer> {
  const self = fileURLToPath(import.meta.url);
  const pinned = availableParallelism() > 1 && hasTaskset();
  const nodeArgs = ['--import', 'tsx', self];
  const child: ChildProcess = pinned
    ? spawn('taskset', ['-c', '0', process.execPath, ...nodeArgs], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
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
  if (availableParallelism() < 2 || !hasTaskset()) return false;
  return spawnSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' }).status === 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serve(Number(process.argv[2] ?? 0));
}

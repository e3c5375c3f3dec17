/**
 * Private `redis-server` processes for tests: each on a free loopback port with its own
 * temporary directory and no persistence. Never touches the shared Redis on 6379.
 *
 * @example
 * const redis = await startRedis();
 * // ... use redis.url ...
 * await redis.freeze();   // SIGSTOP: connections stay open, nothing answers
 * await redis.thaw();     // SIGCONT
 * await redis.kill();     // SIGKILL: connections are refused
 * await redis.restart();  // same port, empty data set
 * await redis.stop();
 *
 * const cluster = await startRedisCluster(); // 3 masters, slots assigned, state ok
 * // ... cluster.urls ...
 * await cluster.stop();
 *
 * Every process started here is also killed when the test process exits.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { killOnExit } from './reap.js';

const execFileAsync = promisify(execFile);
const HOST = '127.0.0.1';
const SHARED_PORT = 6379; // the shared instance: never start, stop or flush anything there

/** One private redis-server. */
export interface RedisInstance {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** PID of the current process (changes after `restart`). */
  readonly pid: number;
  /** SIGSTOP: the process freezes with its sockets open (a hung Redis). */
  freeze(): Promise<void>;
  /** SIGCONT after `freeze`. */
  thaw(): Promise<void>;
  /** SIGKILL and wait for the exit: connections are refused until `restart`. */
  kill(): Promise<void>;
  /** Start again on the same port (empty data set unless `keepData` was requested). */
  restart(): Promise<void>;
  /** Run one command with `redis-cli` and return its raw output. */
  cli(...args: string[]): Promise<string>;
  /** `INFO commandstats` as `{ command: calls }` (lower-case names, e.g. `evalsha`). */
  commandStats(): Promise<Record<string, number>>;
  /** Kill the process and remove its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Extra `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  readonly args?: readonly string[];
}

/** A free TCP port on loopback (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, HOST, () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    if (port !== SHARED_PORT) return port;
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function waitUntil(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (Date.now() < giveUpAt) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis helper: timed out waiting for ${what}`);
}

/**
 * Start a private redis-server on a free port. The port is free when it is picked, but
 * another process (a test server in a parallel worker) may bind it before redis-server
 * does; then redis-server exits at once and the next free port is tried.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisInstance> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisOn(await freePort(), options);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === 5) throw error;
    }
  }
}

/** redis-server exited while starting: most likely the port was taken meanwhile. */
class PortTakenError extends Error {}

async function startRedisOn(port: number, options: StartRedisOptions): Promise<RedisInstance> {
  const dir = mkdtempSync(join(tmpdir(), `steadfast-redis-${port}-`));
  let child: ChildProcess | undefined;
  let stopped = false;

  const launch = async () => {
    const args = [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--protected-mode',
      'no',
      '--loglevel',
      'warning',
      ...(options.args ?? []),
    ];
    const started = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    killOnExit(started);
    child = started;
    await waitUntil(async () => {
      if (started.exitCode !== null) {
        throw new PortTakenError(`redis-server on port ${port} exited: ${stderr.trim()}`);
      }
      return ping(port);
    }, `redis-server on port ${port}`);
  };

  const killNow = async () => {
    const current = child;
    child = undefined;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGKILL');
    await exited;
  };

  try {
    await launch();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const cli = async (...args: string[]) => {
    const { stdout } = await execFileAsync('redis-cli', ['-h', HOST, '-p', String(port), ...args]);
    return stdout;
  };

  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    get pid() {
      return child?.pid ?? -1;
    },
    async freeze() {
      child?.kill('SIGSTOP');
    },
    async thaw() {
      child?.kill('SIGCONT');
    },
    kill: killNow,
    async restart() {
      await killNow();
      await launch();
    },
    cli,
    async commandStats() {
      const out = await cli('INFO', 'commandstats');
      const stats: Record<string, number> = {};
      for (const match of out.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        stats[match[1]!.toLowerCase()] = Number(match[2]);
      }
      return stats;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await killNow();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A local Redis Cluster of private nodes (masters only). */
export interface RedisCluster {
  readonly nodes: readonly RedisInstance[];
  /** `redis://127.0.0.1:<port>` of every node (seed list for a cluster client). */
  readonly urls: readonly string[];
  stop(): Promise<void>;
}

/**
 * Start `size` (default 3) nodes with `--cluster-enabled yes`, join them with
 * `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`, and wait for
 * `cluster_state:ok` on every node.
 */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const nodes: RedisInstance[] = [];
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(
        await startRedis({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      );
    }
    await execFileAsync('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const node of nodes) {
      await waitUntil(
        async () => (await node.cli('CLUSTER', 'INFO')).includes('cluster_state:ok'),
        `cluster state ok on ${node.port}`,
        20_000,
      );
    }
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw error;
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/**
 * One private redis-server for a whole test file: started before its tests, stopped after
 * them (SIGKILL ends a frozen one too). The handle can be used at once — in a
 * `describe` body, say — and refers to the instance once it runs.
 *
 * @example
 * const redis = usePrivateRedis();
 * it('...', async () => { await redis.freeze(); ... });
 */
export function usePrivateRedis(options: StartRedisOptions = {}): RedisInstance {
  let instance: RedisInstance | undefined;
  beforeAll(async () => {
    instance = await startRedis(options);
  });
  afterAll(async () => {
    await instance?.stop();
  });
  return new Proxy({} as RedisInstance, {
    get(_target, key) {
      if (instance === undefined) throw new Error('usePrivateRedis(): Redis is not started yet');
      const value = Reflect.get(instance, key, instance) as unknown;
      return typeof value === 'function' ? value.bind(instance) : value;
    },
  });
}

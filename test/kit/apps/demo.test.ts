import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

interface DemoRun {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves once `pattern` has appeared in the output. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

function startDemo(args: string[]): DemoRun {
  const env = { ...process.env };
  delete env.REDIS_URL; // the demo must start its own redis-server, never use a shared one
  // A shell set up for a real worker: the demo's own workers must not take any of it.
  env.WORKER_CLIENT_AUTH_METHOD = 'private_key_jwt';
  env.WORKER_CLIENT_KEY_FILE = '/nonexistent/worker-key.pem';
  env.WORKER_DPOP = 'true';
  env.WORKER_KEY_PASSPHRASE = 'a-passphrase-for-a-real-key';
  env.TOKEN_KEY = 'not-a-key';
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'demo', '--plain', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of [...waiters]) {
      const match = text.match(waiter.pattern);
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    child,
    output: () => text,
    waitFor: (pattern) =>
      new Promise((resolve) => {
        const match = text.match(pattern);
        if (match) resolve(match);
        else waiters.push({ pattern, resolve });
      }),
    exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>,
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function childPids(output: string): number[] {
  const workers = [
    ...output.matchAll(/worker #\d+ \(pid (\d+)\) metrics: http:\/\/127\.0\.0\.1:\d+\/metrics/g),
  ];
  const redis = [
    ...output.matchAll(/private redis-server on redis:\/\/127\.0\.0\.1:\d+ \(pid (\d+)\)/g),
  ];
  return [...new Set([...workers, ...redis].map((match) => Number(match[1])))];
}

describe('steadfast demo', () => {
  it('runs every phase with 2 workers sharing one token, then every child exits cleanly', async () => {
    const demo = startDemo([
      '--duration',
      '10',
      '--workers',
      '2',
      '--redis',
      'private',
      '--seed',
      '7',
    ]);
    const [code] = await demo.exited;
    const output = demo.output();
    expect(code, output).toBe(0);

    const pids = childPids(output);
    expect(pids, output).toHaveLength(3); // 2 workers + the private redis-server
    for (const pid of pids) expect(isRunning(pid), `pid ${pid} still running`).toBe(false);

    for (const phase of ['healthy', '5xx \\+ 429', 'token revoked', 'hard down', 'recovered']) {
      expect(output).toMatch(new RegExp(`^${phase}\\s+\\d+\\s+\\d+`, 'm'));
    }
    expect(output).toMatch(/worker #1 pid \d+ exited cleanly \(0\)/);
    expect(output).toMatch(/worker #2 pid \d+ exited cleanly \(0\)/);
    expect(output).toContain('all workers exited cleanly');
    expect(output).toMatch(/revoked token [\w-]+ at the IdP/);

    // Every token fetch a worker counted is a request the IdP received, and the
    // revocation forced at least one fetch beyond the cold start.
    const fetches = output.match(
      /token fetches across the fleet: (\d+); the IdP received (\d+) token requests/,
    );
    expect(fetches, output).not.toBeNull();
    expect(Number(fetches![1])).toBe(Number(fetches![2]));
    expect(Number(fetches![1])).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('without Redis, warns that the token is not shared, and stops every child on Ctrl-C (SIGINT)', async () => {
    const demo = startDemo(['--duration', '600', '--workers', '2', '--redis', 'none']);
    // The first status line: the fleet is up and calling.
    await demo.waitFor(/\[\d+s healthy\] [\d.]+ calls\/s/);
    expect(demo.output()).toContain('WARNING: in-memory token store (--redis none)');
    const pids = childPids(demo.output());
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isRunning(pid)).toBe(true);

    demo.child.kill('SIGINT');
    const [code] = await demo.exited;
    const output = demo.output();
    expect(code, output).toBe(0);
    expect(output).toContain('summary (interrupted) — token sharing: NONE');
    expect(output).toContain('all workers exited cleanly');
    for (const pid of pids) expect(isRunning(pid), `pid ${pid} still running`).toBe(false);
  }, 120_000);

  it('leaves no worker behind when the demo itself is killed (SIGKILL)', async () => {
    const demo = startDemo(['--duration', '600', '--workers', '2', '--redis', 'none']);
    await demo.waitFor(/\[\d+s healthy\] [\d.]+ calls\/s/);
    const pids = childPids(demo.output());
    expect(pids).toHaveLength(2);
    demo.child.kill('SIGKILL');
    await demo.exited;
    // The workers notice their IPC lifeline is gone and shut down on their own.
    for (let poll = 0; poll < 300 && pids.some(isRunning); poll += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const survivors = pids.filter(isRunning);
    for (const pid of survivors) process.kill(pid, 'SIGKILL'); // never leak one from a failed run
    expect(survivors).toEqual([]);
  }, 120_000);

  it('refuses an invalid flag with exit code 2 and names it', async () => {
    const demo = startDemo(['--workers', '0']);
    const [code] = await demo.exited;
    expect(code).toBe(2);
    expect(demo.output()).toContain('--workers must be in [1, 32], got 0');
  });
});

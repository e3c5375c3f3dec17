/**
 * `steadfast <command>` as a real child process for tests (the CLI from source, through tsx),
 * and a check that processes are really gone.
 *
 * @example
 * const idp = await startCli('idp', {
 *   env: { IDP_PORT: '0', IDP_CLIENTS: JSON.stringify(clients) },
 *   ready: (line) => /listening on (http:\/\/\S+) \(/.exec(line)?.[1],
 * });
 * // ... use idp.ready (the URL) ...
 * const tree = processTree([idp.pid]);      // the process and its descendants, now
 * expect(await idp.stop()).toEqual({ code: 0, signal: null });   // SIGTERM, wait for the exit
 * expect(stillRunning(tree)).toEqual([]);
 *
 * Only the given environment (plus PATH) reaches the child, so nothing of the test runner's
 * environment changes what the command does. Every process started here is also killed
 * (SIGKILL) when the test process exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './prometheus.js';
import { killOnExit } from './reap.js';

const CLI = join(REPO_ROOT, 'src/cli/main.ts');

/** How a process ended: its exit code, or the signal that ended it. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `steadfast <command>`. */
export interface CliProcess<Ready> {
  readonly child: ChildProcess;
  readonly pid: number;
  /** What `ready` returned for the first line it accepted. */
  readonly ready: Ready;
  /** The last few kB of stdout and stderr, interleaved by line, for failure messages. */
  output(): string;
  /** Resolves when the process exits (never rejects). */
  readonly exited: Promise<Exit>;
  /** Whether the process has not exited yet. */
  running(): boolean;
  /** Send `signal` (default SIGTERM) unless it already exited, and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

export interface StartCliOptions<Ready> {
  /** The child's environment (PATH is added). */
  readonly env: Record<string, string>;
  /** Arguments after the command name. */
  readonly args?: readonly string[];
  /**
   * Called with every line of stdout and stderr until it returns something other than
   * `undefined`: that value is `ready`, and `startCli` resolves.
   */
  readonly ready: (line: string, stream: 'stdout' | 'stderr') => Ready | undefined;
  /** Give up (kill the child, reject) after this long without a ready line. Default 45 s. */
  readonly readyTimeoutMs?: number;
}

/** Start `steadfast <command>` and resolve once it printed its ready line. */
export async function startCli<Ready>(
  command: string,
  options: StartCliOptions<Ready>,
): Promise<CliProcess<Ready>> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, command, ...(options.args ?? [])],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', ...options.env },
    },
  );
  killOnExit(child);
  let exit: Exit | undefined;
  const exited = once(child, 'exit').then(([code, signal]) => {
    exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
    return exit;
  });
  let text = '';
  let onLine: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined;
  for (const stream of ['stdout', 'stderr'] as const) {
    const lines = createInterface({ input: child[stream]! });
    lines.on('line', (line) => {
      text = `${text}${line}\n`.slice(-8_000);
      onLine?.(line, stream);
    });
  }
  const describe = () => `steadfast ${command} (pid ${child.pid})`;

  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${describe()}: no ready line within ${options.readyTimeoutMs ?? 45_000} ms:\n${text}`,
        ),
      );
    }, options.readyTimeoutMs ?? 45_000);
    onLine = (line, stream) => {
      const value = options.ready(line, stream);
      if (value === undefined) return;
      onLine = undefined;
      clearTimeout(timer);
      resolve(value);
    };
    void exited.then((e) => {
      clearTimeout(timer);
      reject(
        new Error(`${describe()} exited (${e.code ?? e.signal}) before it was ready:\n${text}`),
      );
    });
  });

  return {
    child,
    pid: child.pid ?? -1,
    ready,
    output: () => text,
    exited,
    running: () => exit === undefined,
    async stop(signal = 'SIGTERM') {
      if (exit === undefined) child.kill(signal);
      return await exited;
    },
  };
}

/** One process, identified across PID reuse by its start time. */
export interface ProcessId {
  readonly pid: number;
  /** `/proc/<pid>/stat` field 22 (clock ticks after boot); undefined off Linux. */
  readonly startTime?: string;
  /** The command name, for failure messages. */
  readonly name?: string;
}

interface ProcStat {
  readonly pid: number;
  readonly name: string;
  readonly state: string;
  readonly ppid: number;
  readonly startTime: string;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..."; comm may hold spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return {
    pid,
    name: text.slice(text.indexOf('(') + 1, close),
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    startTime: fields[19] ?? '',
  };
}

const HAS_PROC = readStat(process.pid) !== undefined;

/**
 * The given processes and every descendant they have now (from /proc on Linux; elsewhere
 * just the given PIDs), to check later with {@link stillRunning}.
 */
export function processTree(pids: readonly number[]): ProcessId[] {
  if (!HAS_PROC) return pids.map((pid) => ({ pid }));
  const all: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) all.push(stat);
  }
  const found = new Map<number, ProcStat>();
  let frontier = all.filter((p) => pids.includes(p.pid));
  while (frontier.length > 0) {
    for (const p of frontier) found.set(p.pid, p);
    frontier = all.filter((p) => found.has(p.ppid) && !found.has(p.pid));
  }
  return [...found.values()].map((p) => ({ pid: p.pid, startTime: p.startTime, name: p.name }));
}

/** Those of `processes` that are still running (zombies and reused PIDs do not count). */
export function stillRunning(processes: readonly ProcessId[]): ProcessId[] {
  return processes.filter((p) => {
    if (HAS_PROC && p.startTime !== undefined) {
      const stat = readStat(p.pid);
      return stat !== undefined && stat.startTime === p.startTime && stat.state !== 'Z';
    }
    try {
      process.kill(p.pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  });
}

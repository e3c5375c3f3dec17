import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How to start `steadfast <command>` in a child process. */
export interface CliEntry {
  /** Usually `process.execPath`. */
  readonly command: string;
  /** Arguments before the subcommand: loader flags and the CLI's main file. */
  readonly args: readonly string[];
}

/** How a child process ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A `steadfast worker` child process. */
export interface WorkerProcess {
  readonly index: number;
  readonly pid: number | undefined;
  /** Resolves the worker's `/metrics` URL once it announced it is ready. */
  readonly ready: Promise<string>;
  readonly exited: Promise<ChildExit>;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves how it ended. */
  stop(graceMs: number): Promise<ChildExit>;
}

/**
 * Spawn one worker. It gets its own process group (a terminal Ctrl-C reaches the demo
 * only; the demo stops its workers itself, once) and an IPC channel, so it shuts down on
 * its own should the demo die without stopping it.
 */
export function spawnWorker(
  index: number,
  entry: CliEntry,
  env: NodeJS.ProcessEnv,
  onLogLine: (line: string) => void,
): WorkerProcess {
  const child: ChildProcess = spawn(entry.command, [...entry.args, 'worker'], {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  // The IPC channel is only a lifeline; it must not keep the demo alive.
  child.channel?.unref();

  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  const ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const message = JSON.parse(line) as { event?: string; metricsUrl?: string };
        if (message.event === 'ready' && message.metricsUrl) resolve(message.metricsUrl);
      } catch {
        onLogLine(line);
      }
    });
    exited.then(({ code, signal }) =>
      reject(
        new Error(`worker #${index} exited before it was ready (code ${code}, signal ${signal})`),
      ),
    );
  });
  ready.catch(() => {}); // observed by the caller; never an unhandled rejection
  createInterface({ input: child.stderr! }).on('line', onLogLine);

  let stopping: Promise<ChildExit> | undefined;
  return {
    index,
    pid: child.pid,
    ready,
    exited,
    stop(graceMs) {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          const exit = await exited;
          clearTimeout(timer);
          return exit;
        }
        return exited;
      })();
      return stopping;
    },
  };
}

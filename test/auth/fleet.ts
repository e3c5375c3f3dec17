/**
 * Drives several {@link ./fixtures/fleet-worker.ts} processes as one fleet.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Report, WorkerInit, WorkerRequest } from './fixtures/fleet-worker.js';
import type { CallResult } from './fixtures/pipeline.js';

const WORKER = fileURLToPath(new URL('./fixtures/fleet-worker.ts', import.meta.url));

interface Worker {
  readonly child: ChildProcess;
  ask<T>(request: WorkerRequest): Promise<T>;
}

function startWorker(): Promise<Worker> {
  const child = fork(WORKER, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let queue: ((message: { type: string; message?: string } & Record<string, unknown>) => void)[] =
    [];
  child.on('message', (message: { type: string } & Record<string, unknown>) => {
    const next = queue[0];
    if (message.type === 'started') return;
    queue = queue.slice(1);
    next?.(message);
  });
  const worker: Worker = {
    child,
    ask<T>(request: WorkerRequest): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push((message) => {
          if (message.type === 'error') reject(new Error(`fleet worker: ${message.message}`));
          else resolve(message as T);
        });
        child.send(request);
      });
    },
  };
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', () => resolve(worker));
  });
}

export interface Fleet {
  /** Re-initialise every instance (a fresh authorization and store, empty event logs). */
  reinit(init: WorkerInit): Promise<void>;
  /** `n` concurrent calls in every instance at once; results per instance. */
  burst(n: number, options?: { method?: string; body?: string }): Promise<CallResult[][]>;
  /** Calls in a loop for `durationMs` with `concurrency` in every instance. */
  loop(durationMs: number, concurrency: number, pauseMs?: number): Promise<CallResult[][]>;
  report(): Promise<Report[]>;
  /** Zero the per-instance event counters (events are kept for the leak check). */
  resetCounts(): Promise<void>;
  close(): Promise<void>;
}

/** Fork `size` instances and initialise them all with `init`. */
export async function startFleet(size: number, init: WorkerInit): Promise<Fleet> {
  const workers = await Promise.all(Array.from({ length: size }, () => startWorker()));
  await Promise.all(workers.map((w) => w.ask({ type: 'init', init })));
  let closed = false;
  return {
    async reinit(next) {
      await Promise.all(workers.map((w) => w.ask({ type: 'init', init: next })));
    },
    burst: (n, options = {}) =>
      Promise.all(
        workers.map((w) =>
          w.ask<{ results: CallResult[] }>({ type: 'burst', n, ...options }).then((r) => r.results),
        ),
      ),
    loop: (durationMs, concurrency, pauseMs) =>
      Promise.all(
        workers.map((w) =>
          w
            .ask<{ results: CallResult[] }>({
              type: 'loop',
              durationMs,
              concurrency,
              ...(pauseMs === undefined ? {} : { pauseMs }),
            })
            .then((r) => r.results),
        ),
      ),
    resetCounts: async () => {
      await Promise.all(workers.map((w) => w.ask({ type: 'resetCounts' })));
    },
    report: () =>
      Promise.all(
        workers.map((w) => w.ask<{ report: Report }>({ type: 'report' }).then((r) => r.report)),
      ),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(
        workers.map(async (w) => {
          const exited = new Promise((resolve) => w.child.once('exit', resolve));
          const timer = setTimeout(() => w.child.kill('SIGKILL'), 5000);
          try {
            await w.ask({ type: 'close' });
          } catch {
            w.child.kill('SIGKILL');
          }
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}

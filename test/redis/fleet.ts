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
  /** True once the process has exited (or was killed). */
  readonly dead: boolean;
  ask<T>(request: WorkerRequest): Promise<T>;
}

type Reply = { type: string; id?: number; message?: string } & Record<string, unknown>;

function startWorker(): Promise<Worker> {
  const child = fork(WORKER, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Requests may overlap (a report while a burst runs): replies are matched by id.
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let dead = false;
  child.on('message', (message: Reply) => {
    if (message.id === undefined) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.type === 'error') waiter?.reject(new Error(`fleet worker: ${message.message}`));
    else waiter?.resolve(message);
  });
  child.once('exit', () => {
    dead = true;
    for (const waiter of pending.values()) waiter.reject(new Error('fleet worker exited'));
    pending.clear();
  });
  const worker: Worker = {
    child,
    get dead() {
      return dead;
    },
    ask<T>(request: WorkerRequest): Promise<T> {
      if (dead) return Promise.reject(new Error('fleet worker exited'));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: (r) => resolve(r as T), reject });
        child.send({ ...request, id });
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
  /** `n` concurrent calls in each instance; one promise per instance (rejects if it dies). */
  burstEach(n: number): Promise<CallResult[]>[];
  /** Reports of the instances still alive, with their index. */
  reportAlive(): Promise<{ index: number; report: Report }[]>;
  /** SIGKILL one instance (a crash in the middle of whatever it was doing). */
  kill(index: number): Promise<void>;
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
    burstEach: (n) =>
      workers.map((w) =>
        w.ask<{ results: CallResult[] }>({ type: 'burst', n }).then((r) => r.results),
      ),
    reportAlive: () =>
      Promise.all(
        workers
          .map((w, index) => ({ w, index }))
          .filter(({ w }) => !w.dead)
          .map(({ w, index }) =>
            w
              .ask<{ report: Report }>({ type: 'report' })
              .then((r) => ({ index, report: r.report })),
          ),
      ),
    async kill(index) {
      const child = workers[index]!.child;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
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
          if (w.dead) return;
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

/** The fingerprint each instance used last. */
export function lastFingerprints(reports: Report[]): string[] {
  return reports.map((r) => {
    const inUse = r.events.filter((e) => e.includes('"event":"tokenInUse"'));
    return (
      (JSON.parse(inUse[inUse.length - 1] ?? '{}') as { fingerprint?: string }).fingerprint ?? ''
    );
  });
}

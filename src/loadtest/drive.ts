import { setMaxListeners } from 'node:events';
import type { Caller } from './callers.js';
import type { Recorder } from './recorder.js';
import type { LoadModel } from './types.js';

/** How long to drive and how hard. */
export interface DrivePlan {
  readonly model: LoadModel;
  /** Stop starting calls after this long (ms since the run's start). */
  readonly durationMs: number | undefined;
  /** Stop after starting this many calls. */
  readonly calls: number | undefined;
  /** Calls already running beyond which a scheduled call is skipped (open model). */
  readonly maxInflight: number;
  /**
   * Numbering of this process's calls: its k-th call (from 0, skipped calls included) is
   * call `first + k * step` of the run. Worker i of N: `{ first: i, step: N }`.
   * Default: `{ first: 0, step: 1 }`.
   */
  readonly callIndex?: { readonly first: number; readonly step: number };
}

/**
 * Drive calls through `caller` until the plan is done or `stop` aborts, then wait for the
 * calls in flight (a stop aborts them too). Open model: call i is due at i / rate; its latency
 * is measured from that intended start, so a stall is charged to every call it delayed
 * (no coordinated omission). Closed model: `concurrency` loops back to back. Each call gets
 * its index (the schedule slot in the open model) and intended start: what makes its faults
 * reproducible.
 */
export async function drive(
  caller: Caller,
  recorder: Recorder,
  plan: DrivePlan,
  stop: AbortSignal,
): Promise<void> {
  // Every call in flight listens to `stop` (it is their AbortSignal): thousands is normal.
  setMaxListeners(0, stop);
  const inflight = new Set<Promise<void>>();
  const exhausted = (started: number, at: number) =>
    stop.aborted ||
    (plan.calls !== undefined && started >= plan.calls) ||
    (plan.durationMs !== undefined && at >= plan.durationMs);

  const first = plan.callIndex?.first ?? 0;
  const step = plan.callIndex?.step ?? 1;
  const fire = (k: number, intendedStart: number): Promise<void> => {
    recorder.inflight++;
    const run = caller.call(stop, { index: first + k * step, intendedStartMs: intendedStart }).then(
      (result) => {
        recorder.inflight--;
        if (result.outcome === 'aborted') {
          recorder.raw.aborted++;
          return;
        }
        recorder.call(intendedStart, recorder.now(), result.ok, result.outcome);
      },
      () => {
        recorder.inflight--;
        recorder.call(intendedStart, recorder.now(), false, '_OTHER');
      },
    );
    inflight.add(run);
    void run.finally(() => inflight.delete(run));
    return run;
  };

  if (plan.model.kind === 'open') {
    const intervalMs = 1000 / plan.model.ratePerSecond;
    let started = 0;
    while (true) {
      const due = started * intervalMs;
      if (exhausted(started, due)) break;
      const wait = due - recorder.now();
      if (wait > 1) {
        await sleepUnless(wait, stop);
        continue;
      }
      const k = started++;
      if (inflight.size >= plan.maxInflight) recorder.raw.skipped++;
      else fire(k, due);
    }
  } else {
    let started = 0;
    const loop = async () => {
      while (!exhausted(started, recorder.now())) {
        const k = started++;
        await fire(k, recorder.now());
      }
    };
    await Promise.all(Array.from({ length: plan.model.concurrency }, loop));
  }
  await Promise.all(inflight);
}

function sleepUnless(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener('abort', done, { once: true });
  });
}

/**
 * A load-test worker process: `steadfast loadtest --workers N` forks N of these. Each gets
 * its share of the load over IPC, drives it through its own caller (sharing tokens through
 * Redis), reports live counts, and sends back what it measured.
 */
import { type CallerSetup, createCaller } from './callers.js';
import { type DrivePlan, drive } from './drive.js';
import type { LiveStrategies } from './progress.js';
import { Recorder } from './recorder.js';

/** Parent → worker. */
export type ToWorker =
  | {
      readonly type: 'start';
      readonly setup: Omit<CallerSetup, 'recorder'>;
      readonly plan: DrivePlan;
      readonly epochStartMs: number;
    }
  | { readonly type: 'stop' };

/** Worker → parent. */
export type FromWorker =
  | { readonly type: 'ready' }
  | {
      readonly type: 'progress';
      calls: number;
      succeeded: number;
      attempts: number;
      inflight: number;
      strategies: LiveStrategies;
    }
  | { readonly type: 'done'; readonly raw: Recorder['raw'] }
  | { readonly type: 'failed'; readonly message: string };

const send = (message: FromWorker) => process.send?.(message);
const stop = new AbortController();

process.on('message', async (message: ToWorker) => {
  if (message.type === 'stop') {
    stop.abort();
    return;
  }
  const recorder = new Recorder(message.epochStartMs);
  const report = () =>
    send({
      type: 'progress',
      calls: recorder.calls,
      succeeded: recorder.succeeded,
      attempts: recorder.attempts,
      inflight: recorder.inflight,
      strategies: recorder.liveStrategies(),
    });
  const progress = setInterval(report, 200);
  try {
    const caller = createCaller({ ...message.setup, recorder });
    const wait = message.epochStartMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    try {
      await drive(caller, recorder, message.plan, stop.signal);
    } finally {
      await caller.close();
    }
    clearInterval(progress);
    report(); // the final figures, for the parent's last progress line
    send({ type: 'done', raw: recorder.raw });
  } catch (error) {
    clearInterval(progress);
    send({ type: 'failed', message: (error as Error).stack ?? String(error) });
  }
  process.disconnect?.();
});
// Ctrl-C reaches the whole process group: the parent decides, the worker waits for "stop".
process.on('SIGINT', () => {});
send({ type: 'ready' });

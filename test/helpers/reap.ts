/**
 * Child processes that tests start and must not outlive the test process: each one given to
 * {@link killOnExit} is killed (SIGKILL) when the test process exits, unless it exited first.
 *
 * @example
 * const child = spawn('redis-server', args);
 * killOnExit(child);
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Kill `child` when the test process exits, if it is still running then. */
export function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

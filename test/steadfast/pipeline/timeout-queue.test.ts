import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TimeoutQueue } from '../../../packages/steadfast/src/pipeline/timeout-queue.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TimeoutQueue: timeouts of one duration on one timer', () => {
  it('fires each timeout once, in order, not before its duration', async () => {
    const queue = new TimeoutQueue(60);
    const fired: [string, number][] = [];
    const start = performance.now();
    queue.add(() => fired.push(['a', performance.now() - start]));
    await sleep(20);
    queue.add(() => fired.push(['b', performance.now() - start]));
    await sleep(150);
    expect(fired.map(([name]) => name)).toEqual(['a', 'b']);
    expect(fired[0]![1]).toBeGreaterThanOrEqual(59);
    expect(fired[1]![1]).toBeGreaterThanOrEqual(79);
  });

  it('never fires a cancelled timeout, wherever it sits in the list', async () => {
    const queue = new TimeoutQueue(40);
    const fired: string[] = [];
    const a = queue.add(() => fired.push('a'));
    const b = queue.add(() => fired.push('b'));
    const c = queue.add(() => fired.push('c'));
    const d = queue.add(() => fired.push('d'));
    queue.cancel(a); // the head
    queue.cancel(c); // the middle
    queue.cancel(d); // the tail
    queue.cancel(d); // twice: nothing happens
    await sleep(100);
    expect(fired).toEqual(['b']);
    queue.cancel(b); // after it fired: nothing happens
  });

  it('keeps working after it ran empty', async () => {
    const queue = new TimeoutQueue(20);
    const fired: string[] = [];
    queue.cancel(queue.add(() => fired.push('x')));
    await sleep(50);
    queue.add(() => fired.push('y'));
    await sleep(60);
    expect(fired).toEqual(['y']);
  });

  it('does not keep the process alive', () => {
    const script = `
      import { TimeoutQueue } from ${JSON.stringify(fileURLToPath(new URL('../../../packages/steadfast/src/pipeline/timeout-queue.ts', import.meta.url)))};
      new TimeoutQueue(60_000).add(() => console.log('fired'));
      console.log('done');
    `;
    const started = performance.now();
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(run.stdout.trim()).toBe('done');
    expect(run.status).toBe(0);
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import { sleep, useHarness } from './support.js';

const h = useHarness();
const CHILD = fileURLToPath(new URL('./fixtures/close-child.ts', import.meta.url));

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Milliseconds between the child's report (printed after close()) and its exit. */
  exitAfterReportMs: number;
  timedOut: boolean;
}

/** Run the child; kill it (and say so) if it is still alive `limitMs` after it started. */
function runChild(args: string[], limitMs: number): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let reportedAt = Number.NaN;
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (Number.isNaN(reportedAt) && stdout.includes('\n')) reportedAt = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const killer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({
        code,
        stdout,
        stderr,
        exitAfterReportMs: performance.now() - reportedAt,
        timedOut,
      });
    });
  });
}

describe('close()', () => {
  it('leaves nothing that keeps the process alive: the process exits by itself', async () => {
    const healthy = await h.server(() => ({ status: 200, body: 'ok' }));
    const failing = await h.server(() => ({ status: 503 }));
    const hanging = await h.server(() => 'hang');

    const run = await runChild([healthy.url, failing.url, hanging.url], 20_000);
    const report = JSON.parse(run.stdout.split('\n')[0] || '{}') as {
      log?: string[];
      active?: string[];
    };

    expect(run.stderr).not.toMatch(/Error/);
    // The child did reach every path it meant to exercise.
    expect(report.log?.slice(0, 5)).toEqual(['200:2', '200:2', '200:2', '200:2', '200:2']);
    expect(report.log).toContain('ERR_STEADFAST_ABORTED');
    // A call still sleeping in its backoff when close() ran was settled, not left hanging.
    expect(report.log?.at(-1)).not.toBe('pending after close: still pending');
    expect(report.log?.[5]).toBe('ok'); // the 20 concurrent healthy calls
    expect(healthy.requests.length).toBeGreaterThanOrEqual(25);
    expect(hanging.requests.length).toBeGreaterThan(0);
    // Then, after close(), nothing was left running.
    const leftovers = (report.active ?? []).filter((r) => /Timeout|TCP|Immediate/.test(r));
    expect(leftovers).toEqual([]);
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
    // Generous for a loaded CI machine; the timers this guards against run for 60 s.
    expect(run.exitAfterReportMs).toBeLessThan(5_000);
  });

  it('closes its keep-alive connections', async () => {
    const server = await h.server(() => ({ status: 200, body: 'ok' }));
    const client = h.client(server.url);
    await Promise.all(Array.from({ length: 8 }, async () => (await client.fetch('/x')).text()));
    expect(server.openConnections()).toBeGreaterThan(0);

    await client.close();
    for (let i = 0; i < 20 && server.openConnections() > 0; i++) await sleep(25);

    expect(server.openConnections()).toBe(0);
  });

  it.each([
    ['a large body nobody read', { status: 200, body: 'z'.repeat(4 * 1024 * 1024) }],
    ['a stalled body', { status: 200, body: 'partial', holdOpen: true }],
  ] as const)('resolves promptly even with %s still open', async (_what, scripted) => {
    const server = await h.server(() => scripted);
    const client = createClient({
      name: 'close-test',
      baseUrl: server.url,
      telemetry: { metrics: false, tracing: false },
    });
    const res = await client.fetch('/x');
    expect(res.status).toBe(200);

    const closed = client.close().then(() => 'closed');
    const outcome = await Promise.race([closed, sleep(3000).then(() => 'still closing')]);
    if (outcome !== 'closed') await server.close(); // unblock the close() that hung

    expect(outcome).toBe('closed');
  });
});

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../../packages/steadfast/src/index.js';
import { sleep, useHarness } from '../support.js';

const h = useHarness();
const CHILD = fileURLToPath(new URL('./fixtures/close-child.ts', import.meta.url));
const INFLIGHT_CHILD = fileURLToPath(
  new URL('./fixtures/close-inflight-child.ts', import.meta.url),
);

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Milliseconds between the child's report (printed after close()) and its exit. */
  exitAfterReportMs: number;
  timedOut: boolean;
}

/** Run the child; kill it (and say so) if it is still alive `limitMs` after it started. */
function runChild(args: string[], limitMs: number, script = CHILD): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
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

  it('ends every call in flight at once with ClientClosedError, destroys the sockets, and the process exits', async () => {
    const hanging = await h.server(() => 'hang');
    const stalled = await h.server(() => ({ status: 200, body: 'partial', holdOpen: true }));

    const run = await runChild([hanging.url, stalled.url], 20_000, INFLIGHT_CHILD);
    const report = JSON.parse(run.stdout.split('\n')[0] || '{}') as {
      closeMs: number;
      results: { code: string; afterCloseMs: number }[];
      afterClose: { code: string };
    };

    expect(run.stderr).not.toMatch(/Error/);
    // The stalled body, both calls on the wire, the queued call and the one waiting for a
    // token: all ended by close(), long before their 10 s timeouts.
    expect(report.results.map((r) => r.code)).toEqual([
      'ERR_STEADFAST_CLIENT_CLOSED',
      'ERR_STEADFAST_CLIENT_CLOSED',
      'ERR_STEADFAST_CLIENT_CLOSED',
      'ERR_STEADFAST_CLIENT_CLOSED',
      'ERR_STEADFAST_CLIENT_CLOSED',
    ]);
    for (const result of report.results) expect(result.afterCloseMs).toBeLessThan(2_000);
    expect(report.closeMs).toBeLessThan(2_000);
    expect(report.afterClose.code).toBe('ERR_STEADFAST_CLIENT_CLOSED');
    expect(hanging.requests.map((r) => r.path).sort()).toEqual(['/hang-1', '/hang-2', '/token']);
    expect(hanging.openConnections()).toBe(0);
    expect(stalled.openConnections()).toBe(0);
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
    expect(run.exitAfterReportMs).toBeLessThan(5_000);
  });

  it('close({ graceMs }) lets calls finish within the grace, then ends the rest', async () => {
    const server = await h.server((request) =>
      request.path === '/quick' ? { status: 200, body: 'done', delayMs: 150 } : 'hang',
    );
    const client = h.client(server.url);
    const quick = client.fetch('/quick').then((res) => res.text());
    const stuck = client.fetch('/stuck').catch((e: unknown) => e);
    await server.waitForRequests(2);

    const started = performance.now();
    await client.close({ graceMs: 1_500 });
    const elapsed = performance.now() - started;

    expect(await quick).toBe('done');
    expect((await stuck) as { code?: string }).toMatchObject({
      code: 'ERR_STEADFAST_CLIENT_CLOSED',
    });
    expect(elapsed).toBeGreaterThanOrEqual(1_450); // the whole grace, not a fixed one
    expect(elapsed).toBeLessThan(4_000);
  });

  it('a call sleeping before a retry ends with ClientClosedError', async () => {
    const server = await h.server(() => ({ status: 503, headers: { 'retry-after': '20' } }));
    const client = h.client(server.url, { retry: { maxRetries: 2, maxRetryAfterMs: 60_000 } });
    const call = client.fetch('/x').catch((e: unknown) => e);
    await server.waitForRequests(1);
    await sleep(50);

    await client.close();

    expect((await call) as { code?: string }).toMatchObject({
      code: 'ERR_STEADFAST_CLIENT_CLOSED',
    });
  });

  it('close() rejects an invalid graceMs with InvalidConfigurationError', async () => {
    const client = h.client('http://127.0.0.1:1');
    for (const graceMs of [-1, Number.NaN, '1s', null]) {
      await expect(client.close({ graceMs: graceMs as never })).rejects.toMatchObject({
        code: 'ERR_STEADFAST_INVALID_CONFIGURATION',
      });
    }
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

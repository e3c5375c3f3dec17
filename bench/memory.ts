/**
 * Memory benchmark: heap after warm-up vs after MEMORY_CALLS calls (default 1,000,000)
 * through Steadfast's full pipeline against the loopback bench server (another process),
 * at concurrency 64. Heap is read after a forced GC (`--expose-gc`; the script re-runs
 * itself with the flag when it is missing), every 10 % of the run, so a slope shows.
 *
 *   node --expose-gc --import tsx bench/memory.ts      (or: npm run bench -- memory)
 *   MEMORY_CALLS=200000 for a quicker look.
 *
 * It measures the built package (dist/): `npm run build` first (`npm run bench` does).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createClient } from '../packages/steadfast/dist/index.js';
import { measure } from './macro.js';
import { startBenchServer } from './server.js';

const gc = (globalThis as { gc?: () => void }).gc;

function heapMb(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

export async function runMemory(calls: number): Promise<string> {
  const server = await startBenchServer();
  const client = createClient({
    name: 'bench-memory',
    baseUrl: server.url,
    telemetry: { metrics: false, tracing: false },
  });
  const call = async () => {
    const res = await client.fetch('/x');
    return res.text();
  };
  try {
    await measure(call, 20_000, 64);
    const warm = heapMb();
    const step = Math.max(1, Math.floor(calls / 10));
    const points: string[] = [];
    let done = 0;
    const started = performance.now();
    while (done < calls) {
      const n = Math.min(step, calls - done);
      await measure(call, n, 64);
      done += n;
      points.push(`${done.toLocaleString('en')}: ${heapMb().toFixed(2)} MB`);
    }
    const seconds = (performance.now() - started) / 1000;
    const after = heapMb();
    return [
      `Memory: Steadfast full pipeline (telemetry off), ${calls.toLocaleString('en')} calls at concurrency 64 against the loopback server, in ${seconds.toFixed(0)} s. Node ${process.version}.`,
      '',
      '| heap used after warm-up (20k calls) | after the run | growth |',
      '|---|---|---|',
      `| ${warm.toFixed(2)} MB | ${after.toFixed(2)} MB | **${(after - warm).toFixed(2)} MB** |`,
      '',
      `Heap after GC every 10 %: ${points.join(' · ')}`,
    ].join('\n');
  } finally {
    await client.close();
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (!gc) {
    const self = fileURLToPath(import.meta.url);
    const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self], {
      stdio: 'inherit',
    });
    process.exit(result.status ?? 1);
  }
  const calls = Number(process.env.MEMORY_CALLS ?? 1_000_000);
  process.stdout.write(`\n${await runMemory(calls)}\n`);
}

/**
 * CPU profile of one configuration in steady state: warm-up, then N requests against the
 * bench server with the profiler on (node:inspector), written to bench/results/<mode>.cpuprofile
 * and summarised as the top functions by self time (share of the busy time). The profiler's
 * own overhead inflates the µs/req it prints: compare shares, not that figure.
 *   node --import tsx bench/profile.ts [off|default|unsampled|raw]   N=100000 OTEL_CM=1
 * (OTEL_CM=1: with an AsyncLocalStorage context manager, as an app running an SDK has.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  ParentBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { Pool } from 'undici';
import { createClient } from '../packages/steadfast/dist/index.js';
import { createOpenMetricsRegistry } from '../packages/steadfast/dist/telemetry/index.js';
import { measure } from './macro.js';
import { pinSelfToCpu1, startBenchServer } from './server.js';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** The `count` functions with the most self time, as shares of the busy (non-idle) time. */
function topFunctions(profile: CpuProfile, count: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') return;
    const where = url.replace(/^.*node_modules\//, '').replace(/^.*\/packages\//, '');
    const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    busy += dt;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, t]) => `${((100 * t) / busy).toFixed(1).padStart(5)} %  ${key}`)
    .join('\n');
}

const mode = process.argv[2] ?? 'default';
const server = await startBenchServer();
pinSelfToCpu1();
if (process.env.OTEL_CM === '1' || mode === 'unsampled') {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}
let call: () => Promise<unknown>;
let close: () => Promise<void>;
if (mode === 'raw') {
  const pool = new Pool(server.url, { connections: 128 });
  call = async () => (await pool.request({ method: 'GET', path: '/x' })).body.text();
  close = () => pool.close();
} else {
  const unsampled = new BasicTracerProvider({
    sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }),
  });
  const telemetry =
    mode === 'off'
      ? { metrics: false as const, tracing: false as const }
      : mode === 'unsampled'
        ? {
            metrics: { registry: createOpenMetricsRegistry() },
            tracing: { tracerProvider: unsampled },
          }
        : { metrics: { registry: createOpenMetricsRegistry() } };
  const client = createClient({ name: 'bench', baseUrl: server.url, telemetry });
  call = async () => (await client.fetch('/x')).text();
  close = () => client.close();
}
await measure(call, 20_000, 64);
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 50 });
await session.post('Profiler.start');
const s = await measure(call, Number(process.env.N ?? 100_000), 64);
const { profile } = await session.post('Profiler.stop');
console.log(mode, (s.cpuUs / s.requests).toFixed(2), 'µs/req (profiler on)');
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL(`./results/${mode}.cpuprofile`, import.meta.url);
writeFileSync(file, JSON.stringify(profile));
process.stdout.write(
  `${topFunctions(profile as CpuProfile, 30)}\nfull profile: ${file.pathname} (open in Chrome DevTools)\n`,
);
await close();
await server.stop();

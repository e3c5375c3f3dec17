/**
 * Telemetry cost, in one run, alternating rounds, against one loopback server process per
 * server kind. Two phases, because an OpenTelemetry context manager changes the whole process
 * (on Node 20 AsyncLocalStorage installs promise hooks that every promise then pays):
 *
 * 1. an app without OpenTelemetry (no context manager, no tracer provider registered):
 *    raw undici `request()` vs Steadfast's DEFAULT configuration (metrics on, tracing on with
 *    the API's global provider, which is then a no-op) — the headline — and Steadfast with
 *    telemetry off (a diagnostic row);
 * 2. an app running an OpenTelemetry SDK the way NodeSDK sets it up (AsyncLocalStorage
 *    context manager, W3C propagator, a batch span processor): raw undici vs Steadfast
 *    unsampled (parent-based sampler, no sampled parent) + metrics, and undici traced by
 *    `@opentelemetry/instrumentation-undici` (one CLIENT span per request) vs Steadfast traced
 *    (always-on sampler; a call span and an attempt span per call) + metrics.
 *
 * Each phase runs against the `net` responder, `node:http`, and `node:http` answering after
 * 2 ms (BENCH_SERVERS picks: e.g. `net,node-http,node-http:2`; BENCH_PHASES=1 or 2 runs one
 * phase). A diagnostic row runs Steadfast unsampled with the undici instrumentation on, as in
 * an auto-instrumented app: the SDK then suppresses it around each attempt (a context switch
 * it otherwise skips). Then the `/metrics` render
 * time with ~2,000 series.
 *
 *   node --import tsx bench/telemetry.ts            (or: npm run bench -- telemetry)
 *   BENCH_REQUESTS=3000 BENCH_ROUNDS=11 BENCH_CONCURRENCY=64 RENDER_RUNS=200
 *
 * Sampled spans go to an exporter that drops them after the batch processor hands them
 * over (no network), so the figure is the SDK's and OpenTelemetry's in-process cost.
 * Writes bench/results/telemetry.json too.
 *
 * It measures the built package (dist/): `npm run build` first (`npm run bench` does).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  type ExportResult,
  ExportResultCode,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { createClient } from '../packages/steadfast/dist/index.js';
import { type MetricsRegistry, renderMetrics } from '../packages/steadfast/dist/telemetry/index.js';
import { familiesFor } from '../packages/steadfast/dist/telemetry/metrics/families.js';
import { createOpenMetricsRegistry } from '../packages/steadfast/dist/telemetry/metrics/registry.js';
import { median } from '../src/loadtest/percentile.js';
import {
  type Contender,
  pairedRatio,
  runMacro,
  type Summary,
  table,
  undiciContender,
} from './macro.js';
import type { BenchServerOptions } from './server.js';

const RAW = undiciContender.name;
const DEFAULT = 'Steadfast, default: metrics on, no tracer provider';
const OFF = 'Steadfast, telemetry off (diagnostic)';
const UNSAMPLED = 'Steadfast, metrics + tracing unsampled (parent-based, no sampled parent)';
const TRACED = 'Steadfast, metrics + tracing sampled (always-on, batch)';
const UNDICI_TRACED = 'undici request, traced by instrumentation-undici (sampled)';
const UNSAMPLED_INSTRUMENTED =
  'Steadfast, unsampled + metrics, instrumentation-undici also on (diagnostic)';

/** Accepts every batch and drops it: the cost of exporting over the network is not ours. */
class DroppingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.exported += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

function steadfast(
  name: string,
  telemetry: Parameters<typeof createClient>[0]['telemetry'],
): Contender {
  return {
    name,
    async setup(url) {
      const client = createClient({ name: 'bench', baseUrl: url, telemetry });
      return {
        call: async () => {
          const res = await client.fetch('/x');
          return res.text();
        },
        close: () => client.close(),
      };
    },
  };
}

/** Fill a registry with the SDK's families until its exposition has about `target` series. */
function registryWithSeries(target: number): MetricsRegistry {
  const registry = createOpenMetricsRegistry();
  const f = familiesFor(registry);
  let series = 0;
  const statuses = ['200', '201', '204', '400', '401', '404', '429', '500', '502', '503'];
  outer: for (let c = 0; c < 20; c++) {
    const client = `client-${c}`;
    for (const status of statuses) {
      const labels: Record<string, string> = {
        client,
        http_request_method: 'GET',
        server_address: `api-${c}.internal`,
        server_port: '8080',
        http_response_status_code: status,
      };
      if (Number(status) >= 400) labels.error_type = status;
      const exemplarLabels: Record<string, string> = {
        trace_id: '0af7651916cd43dd8448eb211c80319c',
        span_id: 'b7ad6b7169203331',
      };
      f.attemptDuration.observe({ labels, value: 0.02, exemplarLabels });
      series += 17; // 14 buckets + +Inf + _sum + _count
      for (const kind of ['successful_without_retry', 'failed_with_retry']) {
        f.calls.inc({ client, kind });
        series++;
      }
      f.retries.inc({ client, reason: status });
      f.events.inc({ client, strategy: 'retry', event: 'retry', severity: 'warning' });
      series += 2;
      if (series >= target) break outer;
    }
  }
  return registry;
}

async function timeRender(render: () => Promise<string>, runs: number): Promise<number> {
  for (let i = 0; i < 20; i++) await render();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await render();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** `net`, `node-http`, `node-http:2` (answers after 2 ms). */
function parseServers(spec: string): BenchServerOptions[] {
  return spec.split(',').map((item) => {
    const [kind, delay] = item.trim().split(':');
    if (kind !== 'net' && kind !== 'node-http') throw new Error(`unknown server kind ${kind}`);
    return { kind, delayMs: Number(delay ?? 0) };
  });
}

/** undici's `request()`, traced by OpenTelemetry's undici instrumentation during its rounds only. */
/** `contender` with the undici instrumentation on during its rounds (an auto-instrumented app). */
function withInstrumentation(
  contender: Contender,
  name: string,
  instrumentation: UndiciInstrumentation,
): Contender {
  return {
    name,
    async setup(url) {
      const client = await contender.setup(url);
      return {
        ...client,
        enter: () => instrumentation.enable(),
        leave: () => instrumentation.disable(),
      };
    },
  };
}

function instrumentedUndici(instrumentation: UndiciInstrumentation): Contender {
  return {
    name: 'undici request, traced by instrumentation-undici (sampled)',
    async setup(url) {
      const raw = await undiciContender.setup(url);
      return {
        ...raw,
        enter: () => instrumentation.enable(),
        leave: () => instrumentation.disable(),
      };
    },
  };
}

interface Target {
  readonly figure: string;
  readonly row: string;
  readonly base: string;
  readonly max: number;
}

const TARGETS_NO_OTEL: Target[] = [
  {
    figure: 'default (metrics on, no tracer provider) CPU/req ÷ raw undici',
    row: DEFAULT,
    base: RAW,
    max: 1.15,
  },
];
const TARGETS_OTEL: Target[] = [
  { figure: 'unsampled + metrics CPU/req ÷ raw undici', row: UNSAMPLED, base: RAW, max: 1.2 },
  {
    figure: 'traced + metrics CPU/req ÷ undici traced by instrumentation-undici',
    row: TRACED,
    base: UNDICI_TRACED,
    max: 1.3,
  },
];

function verdicts(rows: Summary[], targets: Target[]): string[] {
  const byName = new Map(rows.map((r) => [r.name, r]));
  return targets.map((t) => {
    const ratio = pairedRatio(byName.get(t.row)!, byName.get(t.base)!);
    return `| ${t.figure} | ≤ ${t.max} | **${ratio.toFixed(2)}** ${ratio <= t.max ? 'met' : 'missed'} |`;
  });
}

async function main(): Promise<void> {
  const env = process.env;
  const options = {
    requests: Number(env.BENCH_REQUESTS ?? 3_000),
    rounds: Number(env.BENCH_ROUNDS ?? 11),
    concurrency: Number(env.BENCH_CONCURRENCY ?? 64),
    warmup: Number(env.BENCH_WARMUP ?? 3_000),
  };
  const servers = parseServers(env.BENCH_SERVERS ?? 'net,node-http,node-http:2');
  const phases = (env.BENCH_PHASES ?? '1,2').split(',').map((p) => p.trim());
  const connections = 128;
  const out: string[] = [];
  const results: unknown[] = [];
  const throughputOf = (rows: Summary[], name: string) => {
    const base = rows.find((r) => r.name === RAW)!;
    return rows.find((r) => r.name === name)!.reqPerSec / base.reqPerSec;
  };

  // Phase 1: an app without OpenTelemetry.
  const phase1 = [
    undiciContender,
    steadfast(DEFAULT, { metrics: { registry: createOpenMetricsRegistry() } }),
    steadfast(OFF, { metrics: false, tracing: false }),
  ];
  const verdictLines: string[] = [];
  for (const server of phases.includes('1') ? servers : []) {
    const { rows, pinned, server: label } = await runMacro(phase1, options, server);
    const where = `${label}; ${pinned ? 'server pinned to CPU 0, client to CPU 1' : 'not pinned'}; ${connections} connections; concurrency ${options.concurrency}`;
    out.push(`### No OpenTelemetry in the app — ${where}\n\n${table(rows)}`);
    verdictLines.push(
      ...verdicts(rows, TARGETS_NO_OTEL).map((l) => l.replace('| default', `| [${label}] default`)),
      `| [${label}] default throughput ÷ raw undici | ≥ 0.9 | **${throughputOf(rows, DEFAULT).toFixed(2)}** ${throughputOf(rows, DEFAULT) >= 0.9 ? 'met' : 'missed'} |`,
    );
    results.push({ phase: 'no-otel', server: label, pinned, rows });
  }

  // Phase 2: an app running an OpenTelemetry SDK (what NodeSDK registers).
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.with(context.active(), () => {}); // the promise hooks go on at first use
  const exporter = new DroppingExporter();
  const sampled = new BasicTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536 })],
  });
  const unsampled = new BasicTracerProvider({
    sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }),
    spanProcessors: [new BatchSpanProcessor(new DroppingExporter())],
  });
  const instrumentation = new UndiciInstrumentation({ enabled: false });
  instrumentation.setTracerProvider(sampled);
  const phase2 = [
    undiciContender,
    steadfast(UNSAMPLED, {
      metrics: { registry: createOpenMetricsRegistry() },
      tracing: { tracerProvider: unsampled },
    }),
    withInstrumentation(
      steadfast(UNSAMPLED_INSTRUMENTED, {
        metrics: { registry: createOpenMetricsRegistry() },
        tracing: { tracerProvider: unsampled },
      }),
      UNSAMPLED_INSTRUMENTED,
      instrumentation,
    ),
    instrumentedUndici(instrumentation),
    steadfast(TRACED, {
      metrics: { registry: createOpenMetricsRegistry() },
      tracing: { tracerProvider: sampled },
    }),
  ];
  for (const server of phases.includes('2') ? servers : []) {
    const { rows, pinned, server: label } = await runMacro(phase2, options, server);
    const where = `${label}; ${pinned ? 'server pinned to CPU 0, client to CPU 1' : 'not pinned'}; ${connections} connections; concurrency ${options.concurrency}`;
    out.push(`### An app running an OpenTelemetry SDK — ${where}\n\n${table(rows)}`);
    verdictLines.push(
      ...verdicts(rows, TARGETS_OTEL).map((l) => l.replace(/^\| /, `| [${label}] `)),
    );
    results.push({ phase: 'otel-sdk', server: label, pinned, rows });
  }
  await sampled.forceFlush();

  const runs = Number(env.RENDER_RUNS ?? 200);
  const registry = registryWithSeries(2_000);
  const text = await renderMetrics(registry, 'text');
  const seriesCount = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const render = {
    series: seriesCount,
    openMetricsMs: await timeRender(() => renderMetrics(registry, 'openmetrics'), runs),
    textMs: await timeRender(() => renderMetrics(registry, 'text'), runs),
    promClientMs: await timeRender(() => registry.metrics(), runs),
  };

  const header = `Telemetry (loopback): ${options.requests} requests × ${options.rounds} rounds per client, concurrency ${options.concurrency}, warm-up ${options.warmup}; server in another process. Node ${process.version}. Sampled spans exported: ${exporter.exported}. Ratios: median over rounds of each round's CPU/request ÷ its baseline's in the same round.`;
  const verdictTable = ['| figure | target | this run |', '|---|---|---|', ...verdictLines].join(
    '\n',
  );
  const renderTable = [
    `/metrics render, ${render.series} series (median of ${runs}):`,
    '',
    '| renderer | ms |',
    '|---|---|',
    `| SDK renderer, OpenMetrics (with exemplars) | **${render.openMetricsMs.toFixed(2)}** |`,
    `| SDK renderer, text 0.0.4 | ${render.textMs.toFixed(2)} |`,
    `| prom-client registry.metrics() (reference) | ${render.promClientMs.toFixed(2)} |`,
  ].join('\n');
  process.stdout.write(`\n${header}\n\n${verdictTable}\n\n${out.join('\n\n')}\n\n${renderTable}\n`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/telemetry.json', import.meta.url),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, options, results, render }, null, 2)}\n`,
  );
  await sampled.shutdown();
  await unsampled.shutdown();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}

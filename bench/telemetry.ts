/**
 * Telemetry cost, in one run, alternating rounds against one loopback server process:
 * raw undici vs Steadfast's full pipeline with telemetry off, with metrics and no tracer
 * provider registered (the default of an app without OpenTelemetry), with metrics + tracing
 * unsampled (AlwaysOff sampler), and with metrics + tracing sampled into a
 * BatchSpanProcessor; then the
 * `/metrics` render time with ~2,000 series (SDK renderer in both formats, and prom-client's
 * own `registry.metrics()` for reference).
 *
 *   node --import tsx bench/telemetry.ts            (or: npm run bench -- telemetry)
 *   BENCH_REQUESTS=10000 BENCH_ROUNDS=5 BENCH_CONCURRENCY=64 RENDER_RUNS=200
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
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { createClient } from '../packages/steadfast/dist/index.js';
import { type MetricsRegistry, renderMetrics } from '../packages/steadfast/dist/telemetry/index.js';
import { familiesFor } from '../packages/steadfast/dist/telemetry/metrics/families.js';
import { createOpenMetricsRegistry } from '../packages/steadfast/dist/telemetry/metrics/registry.js';
import { median } from '../src/loadtest/percentile.js';
import { type Contender, runMacro, table, undiciContender } from './macro.js';

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

async function main(): Promise<void> {
  const env = process.env;
  const options = {
    requests: Number(env.BENCH_REQUESTS ?? 10_000),
    rounds: Number(env.BENCH_ROUNDS ?? 5),
    concurrency: Number(env.BENCH_CONCURRENCY ?? 64),
    warmup: Number(env.BENCH_WARMUP ?? 3_000),
  };
  // What an app with OpenTelemetry has: an async-hooks context manager and W3C propagation.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  // Switch the context manager on now, for every row: on Node 20 AsyncLocalStorage installs
  // promise hooks on first use, a process-wide tax any app running OpenTelemetry pays.
  context.with(context.active(), () => {});
  const unsampled = new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
  const exporter = new DroppingExporter();
  const sampled = new BasicTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536 })],
  });
  const contenders = [
    undiciContender,
    steadfast('Steadfast, telemetry off', { metrics: false, tracing: false }),
    steadfast('Steadfast, metrics on, no tracer provider', {
      metrics: { registry: createOpenMetricsRegistry() },
    }),
    steadfast('Steadfast, metrics + tracing unsampled', {
      metrics: { registry: createOpenMetricsRegistry() },
      tracing: { tracerProvider: unsampled },
    }),
    steadfast('Steadfast, metrics + tracing sampled (batch)', {
      metrics: { registry: createOpenMetricsRegistry() },
      tracing: { tracerProvider: sampled },
    }),
  ];
  const { rows, pinned } = await runMacro(contenders, options);
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

  const off = rows[1]!;
  const header = `Telemetry (loopback): ${options.requests} requests × ${options.rounds} rounds per client, concurrency ${options.concurrency}, warm-up ${options.warmup}; server in another process${pinned ? ', server on CPU 0, client on CPU 1 (taskset)' : ''}. Node ${process.version}. Sampled spans exported: ${exporter.exported}.`;
  const vsOff = rows
    .slice(2)
    .map(
      (r) =>
        `- ${r.name}: CPU/req ÷ telemetry off = **${(r.cpuUsPerReq / off.cpuUsPerReq).toFixed(2)}**, req/s ÷ telemetry off = **${(r.reqPerSec / off.reqPerSec).toFixed(2)}**`,
    )
    .join('\n');
  const renderTable = [
    `/metrics render, ${render.series} series (median of ${runs}):`,
    '',
    '| renderer | ms |',
    '|---|---|',
    `| SDK renderer, OpenMetrics (with exemplars) | **${render.openMetricsMs.toFixed(2)}** |`,
    `| SDK renderer, text 0.0.4 | ${render.textMs.toFixed(2)} |`,
    `| prom-client registry.metrics() (reference) | ${render.promClientMs.toFixed(2)} |`,
  ].join('\n');
  process.stdout.write(`\n${header}\n\n${table(rows)}\n\n${vsOff}\n\n${renderTable}\n`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/telemetry.json', import.meta.url),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, options, pinned, rows, render }, null, 2)}\n`,
  );
  await sampled.shutdown();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}

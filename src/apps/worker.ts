import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import { type DrainReport, type LoadStats, startLoad } from './load-generator.js';

/** What the worker calls: the SDK client (`createClient(...)`) fits. */
export interface WorkerClient {
  fetch(path: string, init: { signal?: AbortSignal; operation?: string }): Promise<Response>;
  /** Releases pools, timers and token leases. */
  close(): Promise<void>;
}

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  readonly client: WorkerClient;
  /** Path called on the API. Default: `/weatherforecast`. */
  readonly path?: string;
  /** Calls started per second. Default: 10. */
  readonly ratePerSecond?: number;
  /** Calls in flight at most. Default: 20. */
  readonly concurrency?: number;
  /** Interface of the metrics/health server. Default: `127.0.0.1`. */
  readonly host?: string;
  /** Port of the metrics/health server; 0 picks a free port. Default: 0. */
  readonly port?: number;
  /** Serves `GET /metrics` (the SDK's `metricsRouter()`). Default: none (404). */
  readonly metrics?: RequestHandler;
  /** How long shutdown waits for in-flight calls, in ms. Default: 10 000 (10 s). */
  readonly drainTimeoutMs?: number;
  /** Run after the client is closed, before the server stops (flush spans, ...). */
  readonly onShutdown?: () => Promise<void>;
  /** Where to write lifecycle lines and a periodic summary. Default: nowhere. */
  readonly log?: (line: string) => void;
  /** Period of the summary line, in ms; 0 disables it. Default: 10 000 (10 s). */
  readonly summaryIntervalMs?: number;
}

/** What a stopped worker reports. */
export interface WorkerStopReport extends DrainReport {
  readonly stats: LoadStats;
}

/** A running worker. */
export interface Worker {
  /** Base URL of the metrics/health server, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  stats(): LoadStats;
  /** Graceful stop: drain calls, close the client (release leases), flush, stop serving. */
  stop(): Promise<WorkerStopReport>;
}

/**
 * Start a worker: an open-loop load of `ratePerSecond` calls through the client, and an
 * Express server with `GET /metrics`, `GET /healthz` (alive) and `GET /readyz` (503 once
 * draining). `stop()` is idempotent; the CLI calls it on SIGTERM.
 *
 * @example
 * const worker = await startWorker({ client: weather, ratePerSecond: 20, metrics: metricsRouter() });
 * process.once('SIGTERM', () => worker.stop());
 */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const path = options.path ?? '/weatherforecast';
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000; // 10 s
  const summaryIntervalMs = options.summaryIntervalMs ?? 10_000; // 10 s
  const log = options.log ?? (() => {});
  const { client } = options;
  if (!Number.isFinite(drainTimeoutMs) || drainTimeoutMs < 0) {
    throw new RangeError(`drainTimeoutMs must be a non-negative number, got ${drainTimeoutMs}`);
  }
  let draining = false;

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...load.stats() });
  });
  app.get('/readyz', (_req, res) => {
    res.status(draining ? 503 : 200).json({ status: draining ? 'draining' : 'ready' });
  });
  if (options.metrics) app.use(options.metrics);
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

  const load = startLoad({
    ratePerSecond: options.ratePerSecond ?? 10,
    concurrency: options.concurrency ?? 20,
    async call(signal) {
      const res = await client.fetch(path, { signal, operation: `GET ${path}` });
      await res.arrayBuffer(); // drain the body so the connection is reused
      return res.ok ? 'ok' : String(res.status);
    },
  });
  log(`worker: calling ${path}, metrics on ${url}/metrics`);

  const summary =
    summaryIntervalMs > 0
      ? setInterval(() => {
          const stats = load.stats();
          log(
            `worker: ${stats.started} calls, ${stats.succeeded} ok, ${stats.failed} failed ${JSON.stringify(stats.failures)}, ${stats.skipped} skipped, ${stats.inFlight} in flight`,
          );
        }, summaryIntervalMs).unref()
      : undefined;

  let stopping: Promise<WorkerStopReport> | undefined;
  const stop = (): Promise<WorkerStopReport> => {
    stopping ??= (async () => {
      draining = true;
      clearInterval(summary);
      log(`worker: draining ${load.stats().inFlight} in-flight calls`);
      const report = await load.stop(drainTimeoutMs);
      await client.close();
      await options.onShutdown?.();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Scrapes in progress get a moment; anything still open after that is dropped.
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      });
      const stats = load.stats();
      log(
        `worker: stopped (${report.drained ? 'drained' : `aborted ${report.aborted}`}): ${stats.started} calls, ${stats.succeeded} ok, ${stats.failed} failed`,
      );
      return { ...report, stats };
    })();
    return stopping;
  };

  return { url, stats: () => load.stats(), stop };
}

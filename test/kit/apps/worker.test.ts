import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { metricsRouter } from '../../../packages/steadfast/src/telemetry/index.js';
import { parsePrometheusText, sumOf } from '../../../src/apps/demo/prometheus-text.js';
import { type FlakyApi, startFlakyApi } from '../../../src/apps/flaky-api.js';
import { type Idp, startIdp } from '../../../src/apps/idp.js';
import { startWorker, type Worker } from '../../../src/apps/worker.js';
import { createWorkerClient } from '../../../src/apps/worker-client.js';
import { type RedisInstance, startRedis } from '../../helpers/redis.js';

const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const workerClient = {
  clientId: 'worker',
  clientSecret: 'worker-secret',
  scopes: ['weather.read'],
};
const apiClient = { clientId: 'weather-api', clientSecret: 'api-secret', mayRevokeAnyToken: true };

let idp: Idp;
let api: FlakyApi;
const started: Worker[] = [];

beforeAll(async () => {
  idp = await startIdp({ clients: [workerClient, apiClient] });
  api = await startFlakyApi({
    introspection: {
      url: idp.introspectionEndpoint,
      clientId: apiClient.clientId,
      clientSecret: apiClient.clientSecret,
    },
    revocationUrl: idp.revocationEndpoint,
    adminToken: 'admin-token-for-worker-tests',
    requiredScope: 'weather.read',
  });
});
afterEach(async () => {
  api.setProfile({});
  await Promise.all(started.splice(0).map((worker) => worker.stop()));
});
afterAll(async () => {
  await api?.close();
  await idp?.close();
});

function sdkClient() {
  return createWorkerClient({
    apiUrl: api.url,
    tokenUrl: idp.tokenEndpoint,
    clientId: workerClient.clientId,
    clientSecret: workerClient.clientSecret,
    scope: 'weather.read',
    preset: 'demo',
  });
}

/**
 * Poll until `check` passes. Generous (up to ~20 s): it only bounds a hang, no assertion
 * depends on how fast the fleet is. Fails with the last value seen and `context()`.
 */
async function eventually<T>(
  probe: () => Promise<T>,
  check: (value: T) => boolean,
  context: () => unknown = () => '',
): Promise<T> {
  let value: T | undefined;
  for (let poll = 0; poll < 400; poll += 1) {
    value = await probe();
    if (check(value)) return value;
    await sleep(50);
  }
  throw new Error(
    `condition never met; last value ${JSON.stringify(value)}; ${JSON.stringify(context())}`,
  );
}

describe('startWorker', () => {
  it('calls the API through the SDK and serves /metrics, /healthz and /readyz', async () => {
    const worker = await startWorker({
      client: sdkClient(),
      ratePerSecond: 50,
      concurrency: 5,
      metrics: metricsRouter(),
      summaryIntervalMs: 0,
    });
    started.push(worker);
    await eventually(
      async () => worker.stats().succeeded,
      (succeeded) => succeeded >= 5,
      () => worker.stats(),
    );
    const metrics = parsePrometheusText(await (await fetch(`${worker.url}/metrics`)).text());
    expect(sumOf(metrics, 'steadfast_calls_total', { client: 'weather' })).toBeGreaterThanOrEqual(
      5,
    );
    expect(
      sumOf(metrics, 'steadfast_token_fetches_total', { result: 'success' }),
    ).toBeGreaterThanOrEqual(1);

    const health = await fetch(`${worker.url}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('ok');
    expect((await fetch(`${worker.url}/readyz`)).status).toBe(200);
  });

  it('drains in-flight calls on stop, then closes its server', async () => {
    const worker = await startWorker({
      client: sdkClient(),
      ratePerSecond: 50,
      concurrency: 5,
      summaryIntervalMs: 0,
    });
    started.push(worker);
    await eventually(
      async () => worker.stats().succeeded,
      (succeeded) => succeeded >= 3,
      () => worker.stats(),
    );
    const report = await worker.stop();
    expect(report.drained).toBe(true);
    expect(report.aborted).toBe(0);
    expect(report.stats.inFlight).toBe(0);
    expect(report.stats.started).toBe(report.stats.succeeded + report.stats.failed);
    await expect(fetch(`${worker.url}/healthz`)).rejects.toThrow();
  });

  it('reports not ready while draining, and aborts calls still running at the drain timeout', async () => {
    // Every answer takes about a minute: calls are in flight when stop() begins.
    api.setProfile({ name: 'slow', latencyMedianMs: 60_000, latencyP99Ms: 60_000 });
    const worker = await startWorker({
      client: sdkClient(),
      ratePerSecond: 50,
      concurrency: 3,
      drainTimeoutMs: 1_000,
      summaryIntervalMs: 0,
    });
    started.push(worker);
    await eventually(
      async () => worker.stats().inFlight,
      (inFlight) => inFlight === 3,
      () => worker.stats(),
    );
    const stopping = worker.stop();
    const ready = await fetch(`${worker.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    const report = await stopping;
    expect(report.drained).toBe(false);
    expect(report.aborted).toBe(3);
    expect(report.stats.inFlight).toBe(0);
    expect(report.stats.succeeded).toBe(0);
    expect(report.stats.failed).toBe(report.stats.started);
  });
});

describe('steadfast worker processes', () => {
  let redis: RedisInstance;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await redis?.stop();
  });

  function spawnWorker(extraEnv: NodeJS.ProcessEnv = {}): {
    child: ChildProcess;
    metricsUrl: Promise<string>;
  } {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'worker'], {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        WORKER_API_URL: api.url,
        WORKER_TOKEN_URL: idp.tokenEndpoint,
        WORKER_CLIENT_ID: workerClient.clientId,
        WORKER_CLIENT_SECRET: workerClient.clientSecret,
        WORKER_SCOPE: 'weather.read',
        WORKER_RATE: '20',
        WORKER_PIPELINE: 'demo',
        METRICS_PORT: '0',
        OTEL_TRACES_EXPORTER: 'none',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    child.stderr!.resume();
    const metricsUrl = new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const match = /"metricsUrl":"([^"]+)"/.exec(line);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
    });
    return { child, metricsUrl };
  }

  it('share one token through Redis (one token request for two processes) and exit 0 on SIGTERM', async () => {
    const before = idp.stats().tokenRequests;
    const workers = [spawnWorker(), spawnWorker()];
    const urls = await Promise.all(workers.map((worker) => worker.metricsUrl));
    for (const url of urls) {
      await eventually(
        async () => parsePrometheusText(await (await fetch(url)).text()),
        (samples) =>
          sumOf(samples, 'steadfast_calls_total', { kind: 'successful_without_retry' }) >= 3,
      );
    }
    expect(idp.stats().tokenRequests - before).toBe(1);

    const exits = workers.map((worker) => once(worker.child, 'exit'));
    for (const worker of workers) worker.child.kill('SIGTERM');
    const codes = (await Promise.all(exits)).map(([code]) => code);
    expect(codes).toEqual([0, 0]);
  }, 60_000);

  it('flushes its spans to the OTLP endpoint when it stops on SIGTERM', async () => {
    const received: { path: string; contentType: string | undefined; bytes: number }[] = [];
    const collector = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      req.on('end', () => {
        received.push({ path: req.url ?? '', contentType: req.headers['content-type'], bytes });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    try {
      const worker = spawnWorker({
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_SERVICE_NAME: 'worker-under-test',
      });
      const url = await worker.metricsUrl;
      await eventually(
        async () => parsePrometheusText(await (await fetch(url)).text()),
        (samples) => sumOf(samples, 'steadfast_calls_total') >= 3,
      );
      const exit = once(worker.child, 'exit');
      worker.child.kill('SIGTERM');
      expect((await exit)[0]).toBe(0);
      const traces = received.filter((request) => request.path === '/v1/traces');
      expect(traces.length).toBeGreaterThanOrEqual(1);
      expect(traces.every((request) => request.bytes > 0)).toBe(true);
    } finally {
      collector.closeAllConnections();
      collector.close();
    }
  }, 60_000);
});

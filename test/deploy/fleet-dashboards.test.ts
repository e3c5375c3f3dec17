// The dashboard against real data: three `steadfast worker` processes (the CLI, from source)
// share a token through a real redis-server, call the flaky API, which validates tokens at
// the real IdP; a real Prometheus scrapes them every second and loads the alert rules. The
// API goes through phases (healthy, 5xx/429/401/resets, token revoked, hard down,
// recovered); then every panel query and every variable of the committed dashboard must
// return data, the exemplars must reach Prometheus, and the breaker-open alert expression
// must hold during the outage and not after it.
//
// Phases last a few seconds of wall time, but nothing asserts on timing: each assertion is
// about what happened (data present, breaker open while the API was down).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_JOB } from '../../dashboards/src/metrics.js';
import type { QueryVariables } from '../../dashboards/src/promql.js';
import { type FlakyApi, startFlakyApi } from '../../src/apps/flaky-api.js';
import { type Idp, startIdp } from '../../src/apps/idp.js';
import { closedPort } from '../helpers/http-server.js';
import {
  allVariables,
  type PanelQueryResult,
  REPO_ROOT,
  type RunningPrometheus,
  requireTool,
  runDashboardQueries,
  runVariableQueries,
  startPrometheus,
} from '../helpers/prometheus.js';
import { type RedisInstance, startRedis } from '../helpers/redis.js';
import { loadRules, RULES_DIR } from './rules.js';

const WORKERS = 3;

/**
 * Panel queries that find no data today, and why: gaps in the apps or the SDK, not in the
 * dashboard. The test below holds every other query to returning data; remove an entry
 * once its cause is fixed (the `todo` entries list them in every run).
 */
const KNOWN_GAPS: Record<string, string> = {};
const ADMIN_TOKEN = 'fleet-dashboards-admin-token';

interface Worker {
  readonly child: ChildProcess;
  readonly target: string;
  exit?: Promise<number | null>;
}

let redis: RedisInstance | undefined;
let idp: Idp | undefined;
let api: FlakyApi | undefined;
let prom: RunningPrometheus | undefined;
const workers: Worker[] = [];
let results: PanelQueryResult[] = [];
let allVars: QueryVariables | undefined;
/** Unix seconds: inside the hard-down phase, and after recovery. */
let downAt = 0;
let recoveredAt = 0;

let otlpPort = 0;

async function startWorker(index: number): Promise<Worker> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'worker'],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        WORKER_API_URL: api!.url,
        WORKER_TOKEN_URL: idp!.tokenEndpoint,
        WORKER_CLIENT_ID: 'worker',
        WORKER_CLIENT_SECRET: 'worker-secret-for-tests',
        WORKER_SCOPE: 'weather.read',
        REDIS_URL: redis!.url,
        WORKER_RATE: '20',
        WORKER_CONCURRENCY: '20',
        WORKER_PIPELINE: 'demo',
        WORKER_SUMMARY_INTERVAL_MS: '0',
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0',
        OTEL_SERVICE_NAME: `steadfast-worker-${index}`,
        // Spans are made (exemplars need a trace id); their export goes to a closed loopback
        // port and fails quietly. (OTEL_TRACES_EXPORTER=none would install no tracer at all.)
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
      },
    },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        const msg = JSON.parse(line) as { event?: string; metricsUrl?: string };
        if (msg.event === 'ready' && msg.metricsUrl) resolve(new URL(msg.metricsUrl).host);
      } catch {
        // not the ready line
      }
    });
    void exit.then((code) => reject(new Error(`worker ${index} exited (${code}):\n${stderr}`)));
  });
  const worker: Worker = { child, target: await ready, exit };
  return worker;
}

async function phase(profile: Record<string, unknown>, seconds: number): Promise<void> {
  api!.setProfile(profile);
  await sleep(seconds * 1000);
}

beforeAll(async () => {
  requireTool('prometheus', 'prometheus');
  requireTool('redis-server', 'redis-server');
  redis = await startRedis();
  idp = await startIdp({
    clients: [
      {
        clientId: 'worker',
        clientSecret: 'worker-secret-for-tests',
        scopes: ['weather.read'],
      },
      { clientId: 'weather-api', clientSecret: 'api-secret-for-tests', mayRevokeAnyToken: true },
    ],
    accessTokenTtlSeconds: 300,
  });
  api = await startFlakyApi({
    introspection: {
      url: idp.introspectionEndpoint,
      clientId: 'weather-api',
      clientSecret: 'api-secret-for-tests',
      cacheTtlMs: 200,
    },
    revocationUrl: idp.revocationEndpoint,
    adminToken: ADMIN_TOKEN,
    requiredScope: 'weather.read',
    seed: 7,
  });
  otlpPort = await closedPort();
  for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(i));
  prom = await startPrometheus({
    jobs: [{ job: WORKER_JOB, targets: workers.map((w) => w.target) }],
    scrapeInterval: '1s',
    ruleFiles: [join(RULES_DIR, 'steadfast.rules.yml')],
  });
  await prom.waitForScrapes(2);

  await phase({ name: 'healthy' }, 4);
  await phase(
    {
      name: 'faults',
      errorRate: 0.25,
      rateLimitRate: 0.1,
      retryAfterSeconds: 1,
      unauthorizedRate: 0.05,
      resetRate: 0.03,
      latencyMedianMs: 20,
      latencyP99Ms: 200,
    },
    6,
  );
  api.setProfile({ name: 'revoked' });
  const revoked = await api.revokeCurrentToken();
  if (!revoked.revoked) throw new Error(`revocation failed: ${JSON.stringify(revoked)}`);
  await sleep(4_000);
  await phase({ name: 'down', down: true }, 8);
  downAt = Date.now() / 1000 - 1;
  await phase({ name: 'healthy' }, 8);
  recoveredAt = Date.now() / 1000;
  await prom.waitForScrapes(2);

  // Every variable on "All", as Grafana substitutes it; a rate window that covers the whole
  // run, so every phase is in every rate.
  allVars = await allVariables(prom, '2m');
  results = await runDashboardQueries(prom, allVars, recoveredAt);
}, 120_000);

afterAll(async () => {
  for (const w of workers) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  }
  await prom?.stop();
  await api?.close();
  await idp?.close();
  await redis?.stop();
});

describe('the fleet dashboard against a real fleet and a real Prometheus', () => {
  it('every panel query returns data (but the known gaps)', () => {
    expect(results.length).toBeGreaterThan(20);
    const empty = results
      .filter((r) => r.error !== undefined || r.seriesCount === 0)
      .filter((r) => r.error !== undefined || !(`${r.panelTitle}/${r.refId}` in KNOWN_GAPS))
      .map((r) => `${r.row} / ${r.panelTitle} / ${r.refId}: ${r.error ?? 'no data'} (${r.sent})`);
    expect(empty).toEqual([]);
    // every known gap names a real query
    const names = new Set(results.map((r) => `${r.panelTitle}/${r.refId}`));
    expect(Object.keys(KNOWN_GAPS).filter((k) => !names.has(k))).toEqual([]);
  });

  for (const [query, why] of Object.entries(KNOWN_GAPS)) {
    it.todo(`panel query ${query} returns data: ${why}`);
  }

  it('every dashboard variable offers the fleet’s values', async () => {
    // "All" jobs is the list of worker jobs, not `.*` (which would count Prometheus itself)
    expect(allVars?.job).toBe(`(${WORKER_JOB})`);
    const values = await runVariableQueries(prom!);
    expect(values.get('job')).toEqual([WORKER_JOB]);
    expect(values.get('instance')).toEqual(workers.map((w) => w.target).sort());
    expect(values.get('client')).toEqual(['weather']);
    expect(values.get('credential')?.length).toBe(1);
  });

  it('stores trace-linked exemplars of the latency histograms', async () => {
    const exemplars = (await prom!.queryExemplars(
      'http_client_request_duration_seconds_bucket',
      downAt - 60,
      recoveredAt,
    )) as { exemplars: { labels: Record<string, string> }[] }[];
    const labels = exemplars.flatMap((s) => s.exemplars.map((e) => e.labels));
    expect(labels.length).toBeGreaterThan(0);
    expect(labels[0]).toHaveProperty('trace_id');
  });

  it('counts token-endpoint requests as the IdP does, summed over the fleet', async () => {
    // The "one per rotation" panel sums this counter over every instance.
    const r = await prom!.query('sum(steadfast_token_fetches_total{result="success"})');
    const counted = Number(r.series[0]?.value?.[1]);
    expect(counted).toBe(idp!.stats().tokensIssued);
    // cold start and the revocation at least; not one per worker per event
    expect(counted).toBeGreaterThanOrEqual(2);
  });

  it('the breaker-open alert expression holds during the outage, not after it', async () => {
    const rule = loadRules().find((r) => r.alert === 'SteadfastCircuitBreakerOpen')!;
    // Evaluated at each second of the last 4 s of the outage (a single late or failed scrape
    // must not decide it): it holds at least once there, and for the breaker of the API.
    const during = await Promise.all(
      [4, 3, 2, 1, 0].map((s) => prom!.query(rule.expr, downAt - s)),
    );
    const held = during.flatMap((r) => r.series);
    expect(held.length).toBeGreaterThan(0);
    expect(held[0]?.metric.server_address).toBe(new URL(api!.url).hostname);
    const after = await prom!.query(rule.expr, recoveredAt);
    expect(after.series).toEqual([]);
  });

  it('every worker exits cleanly on SIGTERM', async () => {
    for (const w of workers) w.child.kill('SIGTERM');
    const codes = await Promise.all(workers.map((w) => w.exit));
    expect(codes).toEqual(workers.map(() => 0));
  });
});

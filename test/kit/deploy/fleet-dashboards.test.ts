// The dashboard against real data, every part its own process: a private redis-server, the
// IdP (`steadfast idp`), the flaky API (`steadfast flaky-api`) and three `steadfast worker`
// processes (the CLI, from source), which share a token through Redis and call the API,
// which validates tokens at the IdP (the workers run the demo preset — with hedging, serve
// stale and an adaptive limit — and the last one throttles instead of breaking); a real
// Prometheus scrapes the workers every second and loads the alert rules. The API goes through phases (healthy, 5xx/429/resets, token
// revoked, hard down, recovered), driven over its admin routes; then every panel query and
// every variable of the committed dashboard must return data, the exemplars must reach
// Prometheus, the fleet's token fetches must equal what the IdP says it issued (its admin
// route), the breaker-open alert expression must hold during the outage and not after it,
// and every process must exit on SIGTERM, leaving nothing behind.
//
// Phases last a few seconds of wall time, but nothing asserts on timing: each assertion is
// about what happened (data present, breaker open while the API was down).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_JOB } from '../../../dashboards/src/metrics.js';
import type { QueryVariables } from '../../../dashboards/src/promql.js';
import {
  type CliProcess,
  type ProcessId,
  processTree,
  startCli,
  stillRunning,
} from '../../helpers/cli-process.js';
import { closedPort } from '../../helpers/http-server.js';
import {
  allVariables,
  type PanelQueryResult,
  type RunningPrometheus,
  requireTool,
  runDashboardQueries,
  runVariableQueries,
  startPrometheus,
} from '../../helpers/prometheus.js';
import { type RedisInstance, startRedis } from '../../helpers/redis.js';
import { loadRules, RULES_DIR } from './rules.js';

const WORKERS = 3;

/**
 * Panel queries that find no data today, and why: gaps in the apps or the SDK, not in the
 * dashboard. The test below holds every other query to returning data; remove an entry
 * once its cause is fixed (the `todo` entries list them in every run).
 */
const ADMIN_TOKEN = 'fleet-dashboards-admin-token';
const IDP_ADMIN_TOKEN = 'fleet-dashboards-idp-admin-token';
const WORKER_SECRET = 'worker-secret-for-tests';
const API_SECRET = 'api-secret-for-tests';

/** A worker process; `ready` is its metrics `host:port` (the scrape target). */
type Worker = CliProcess<string>;
/** The IdP or the API; `ready` is its base URL. */
type Service = CliProcess<string>;

let redis: RedisInstance | undefined;
let idp: Service | undefined;
let api: Service | undefined;
let prom: RunningPrometheus | undefined;
const workers: Worker[] = [];
/** Every process the test started and their descendants, taken while the fleet ran. */
let started: ProcessId[] = [];
let results: PanelQueryResult[] = [];
let allVars: QueryVariables | undefined;
/** Unix seconds: inside the hard-down phase, and after recovery. */
let downAt = 0;
let recoveredAt = 0;

let otlpPort = 0;

/** The base URL in a `listening on http://…` log line of the IdP or the API. */
function listeningUrl(line: string): string | undefined {
  return /listening on (http:\/\/[^\s)]+)/.exec(line)?.[1];
}

async function startIdpProcess(): Promise<Service> {
  return await startCli('idp', {
    env: {
      IDP_HOST: '127.0.0.1',
      IDP_PORT: '0',
      IDP_CLIENTS: JSON.stringify([
        { clientId: 'worker', clientSecret: WORKER_SECRET, scopes: ['weather.read'] },
        { clientId: 'weather-api', clientSecret: API_SECRET, mayRevokeAnyToken: true },
      ]),
      IDP_TOKEN_TTL_SECONDS: '300',
      IDP_ADMIN_TOKEN,
    },
    ready: listeningUrl,
  });
}

async function startApiProcess(idpUrl: string): Promise<Service> {
  return await startCli('flaky-api', {
    env: {
      FLAKY_API_HOST: '127.0.0.1',
      FLAKY_API_PORT: '0',
      FLAKY_API_INTROSPECTION_URL: `${idpUrl}/token/introspection`,
      FLAKY_API_REVOCATION_URL: `${idpUrl}/token/revocation`,
      FLAKY_API_CLIENT_ID: 'weather-api',
      FLAKY_API_CLIENT_SECRET: API_SECRET,
      FLAKY_API_ADMIN_TOKEN: ADMIN_TOKEN,
      FLAKY_API_REQUIRED_SCOPE: 'weather.read',
      FLAKY_API_INTROSPECTION_CACHE_MS: '200',
      FLAKY_API_SEED: '7',
    },
    ready: listeningUrl,
  });
}

async function startWorker(index: number): Promise<Worker> {
  return await startCli('worker', {
    env: {
      WORKER_API_URL: api!.ready,
      WORKER_TOKEN_URL: `${idp!.ready}/token`,
      WORKER_CLIENT_ID: 'worker',
      WORKER_CLIENT_SECRET: WORKER_SECRET,
      WORKER_SCOPE: 'weather.read',
      REDIS_URL: redis!.url,
      WORKER_RATE: '20',
      WORKER_CONCURRENCY: '20',
      // The last worker throttles instead of breaking: the adaptive throttle's panel reads it.
      WORKER_PIPELINE: index === WORKERS - 1 ? 'demo+throttle' : 'demo',
      WORKER_SUMMARY_INTERVAL_MS: '0',
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      OTEL_SERVICE_NAME: `steadfast-worker-${index}`,
      // Spans are made (exemplars need a trace id); their export goes to a closed loopback
      // port and fails quietly. (OTEL_TRACES_EXPORTER=none would install no tracer at all.)
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
    },
    ready: (line, stream) => {
      if (stream !== 'stdout' || !line.startsWith('{')) return undefined;
      try {
        const msg = JSON.parse(line) as { event?: string; metricsUrl?: string };
        return msg.event === 'ready' && msg.metricsUrl ? new URL(msg.metricsUrl).host : undefined;
      } catch {
        return undefined; // not the ready line
      }
    },
  });
}

/** A request to an admin route (the API's or the IdP's): the JSON answer, or an Error. */
async function admin<T>(
  service: Service,
  token: string,
  method: 'GET' | 'PUT' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${service.ready}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Add every process of the run, and whatever they started, to `started` (while running). */
function recordProcesses(): void {
  const pids = [redis?.pid, idp?.pid, api?.pid, ...workers.map((w) => w.pid), prom?.pid];
  const now = processTree(pids.filter((pid): pid is number => pid !== undefined && pid > 0));
  const known = new Set(started.map((p) => `${p.pid}/${p.startTime}`));
  started = [...started, ...now.filter((p) => !known.has(`${p.pid}/${p.startTime}`))];
}

async function phase(profile: Record<string, unknown>, seconds: number): Promise<void> {
  await admin(api!, ADMIN_TOKEN, 'PUT', '/admin/profile', profile);
  await sleep(seconds * 1000);
}

beforeAll(async () => {
  requireTool('prometheus', 'prometheus');
  requireTool('redis-server', 'redis-server');
  [redis, idp] = await Promise.all([startRedis(), startIdpProcess()]);
  api = await startApiProcess(idp.ready);
  otlpPort = await closedPort();
  for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(i));
  prom = await startPrometheus({
    jobs: [{ job: WORKER_JOB, targets: workers.map((w) => w.ready) }],
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
      // No spurious 401s here: each would (rightly) cost a fleet-wide re-fetch, and this run
      // proves the fleet fetches once per token event (spurious 401s: test/redis).
      resetRate: 0.03,
      latencyMedianMs: 20,
      latencyP99Ms: 200,
    },
    6,
  );
  await admin(api, ADMIN_TOKEN, 'PUT', '/admin/profile', { name: 'revoked' });
  // The API revokes, at the IdP, the token it saw last: the one the whole fleet shares.
  const revoked = await admin<{ revoked: boolean }>(
    api,
    ADMIN_TOKEN,
    'POST',
    '/admin/revoke-current-token',
  );
  if (!revoked.revoked) throw new Error(`revocation failed: ${JSON.stringify(revoked)}`);
  await sleep(4_000);
  // Longer than the throttling worker's window (10 s, demo+throttle) plus a bucket and a
  // scrape: by then every accept of the healthy past has left its window, so its rejection
  // probability is above zero however few attempts a loaded machine lets it send (the
  // probability rises sooner when it sends more than twice what it had accepted: 3–5 s in
  // quiet runs; once, on a loaded CI machine, never within an outage of 8 s).
  await phase({ name: 'down', down: true }, 13);
  downAt = Date.now() / 1000 - 1;
  await phase({ name: 'healthy' }, 8);
  recoveredAt = Date.now() / 1000;
  await prom.waitForScrapes(2);
  recordProcesses();

  // Every variable on "All", as Grafana substitutes it; a rate window that covers the whole
  // run, so every phase is in every rate.
  allVars = await allVariables(prom, '2m');
  results = await runDashboardQueries(prom, allVars, recoveredAt);
}, 120_000);

afterAll(async () => {
  // Only when a test failed before stopping them: nothing may outlive the file.
  await Promise.all([...workers, api, idp].map((p) => p?.stop('SIGKILL')));
  await prom?.stop();
  await redis?.stop();
});

describe('the fleet dashboard against a real fleet and a real Prometheus', () => {
  it('every panel query returns data', () => {
    expect(results.length).toBeGreaterThan(20);
    const empty = results
      .filter((r) => r.error !== undefined || r.seriesCount === 0)
      .map((r) => `${r.row} / ${r.panelTitle} / ${r.refId}: ${r.error ?? 'no data'} (${r.sent})`);
    expect(empty).toEqual([]);
  });

  it('every dashboard variable offers the fleet’s values', async () => {
    // "All" jobs is the list of worker jobs, not `.*` (which would count Prometheus itself)
    expect(allVars?.job).toBe(`(${WORKER_JOB})`);
    const values = await runVariableQueries(prom!);
    expect(values.get('job')).toEqual([WORKER_JOB]);
    expect(values.get('instance')).toEqual(workers.map((w) => w.ready).sort());
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
    // What the IdP process says it issued, over its admin route.
    const issued = await admin<{ tokensIssued: number }>(
      idp!,
      IDP_ADMIN_TOKEN,
      'GET',
      '/admin/stats',
    );
    expect(counted).toBe(issued.tokensIssued);
    // The token lives 300 s, longer than the run: no rotation. So exactly the cold start and
    // the revocation, one fetch each for the whole fleet — not one per worker (that is 6).
    expect(counted).toBe(2);
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
    expect(held[0]?.metric.server_address).toBe(new URL(api!.ready).hostname);
    const after = await prom!.query(rule.expr, recoveredAt);
    expect(after.series).toEqual([]);
  });

  it('the toolbox strategies of the demo preset acted, so the row shows more than zeros', async () => {
    const total = async (expr: string, time = recoveredAt): Promise<number> => {
      const r = await prom!.query(`sum(${expr})`, time);
      return Number(r.series[0]?.value?.[1] ?? 0);
    };
    const seen = {
      hedgesSent: await total('steadfast_hedges_sent_total'),
      hedgesSkipped: await total('steadfast_hedges_skipped_total'),
      hedgedCalls: await total('steadfast_hedged_calls_total'),
      cancelled: await total('steadfast_hedges_cancelled_total'),
      cancelledAttempts: await total(
        'http_client_request_duration_seconds_count{error_type="cancelled"}',
      ),
      staleServed: await total('steadfast_fallbacks_total{kind="stale",served="true"}'),
      staleAges: await total('steadfast_fallback_stale_age_seconds_count'),
      fallbackCalls: await total('steadfast_calls_total{kind="fallback"}'),
      limitChanges: await total('steadfast_adaptive_concurrency_limit_changes_total'),
      limits: (await prom!.query('steadfast_adaptive_concurrency_limit', recoveredAt)).series
        .length,
      throttled: await total(
        'steadfast_rate_limit_rejections_total{limiter="adaptive_throttle",reason="throttled"}',
      ),
      throttleProbabilityDown: Number(
        (await prom!.query('max(steadfast_adaptive_throttle_rejection_probability)', downAt))
          .series[0]?.value?.[1] ?? 0,
      ),
    };
    // Every strategy did something (the values vary from run to run; their presence does not).
    console.log('toolbox strategies in this run:', seen);
    // What the throttling worker saw through the outage, second by second: its rejection
    // probability and its attempts of the last 2 s by status (the values a failure needs).
    const throttler = workers[WORKERS - 1]!.ready;
    const during = await Promise.all(
      Array.from({ length: 21 }, (_, i) => 20 - i).map(async (s) => {
        const at = downAt - s;
        const p = await total(
          `steadfast_adaptive_throttle_rejection_probability{instance="${throttler}"}`,
          at,
        );
        const sent = await prom!.query(
          `sum by (http_response_status_code, error_type) (increase(http_client_request_duration_seconds_count{instance="${throttler}"}[2s]))`,
          at,
        );
        const attempts = sent.series
          .filter((x) => Number(x.value?.[1]) >= 0.5)
          .map(
            (x) =>
              `${x.metric.http_response_status_code ?? x.metric.error_type}:${Number(x.value?.[1]).toFixed(0)}`,
          )
          .join(' ');
        return `t=${(12 - s).toString().padStart(2)}s p=${p.toFixed(2)} ${attempts}`;
      }),
    );
    console.log(`the throttling worker in the outage:\n${during.join('\n')}`);
    expect(seen.hedgesSent, 'hedges sent').toBeGreaterThan(0);
    expect(seen.hedgedCalls, 'hedged calls').toBe(seen.hedgesSent); // one hedge per call at most
    expect(seen.cancelled, 'hedges cancelled').toBeGreaterThan(0);
    expect(seen.cancelledAttempts, 'attempts with error_type cancelled').toBeGreaterThan(0);
    expect(seen.staleServed, 'stale responses served').toBeGreaterThan(0);
    expect(seen.staleAges).toBe(seen.staleServed);
    expect(seen.fallbackCalls, 'calls of kind fallback').toBe(seen.staleServed);
    expect(seen.limits, 'an adaptive limit per worker for the one API').toBe(WORKERS);
    expect(seen.limitChanges, 'adaptive limit moves').toBeGreaterThan(0);
    expect(seen.throttled, 'attempts the throttle refused').toBeGreaterThan(0);
    expect(seen.throttleProbabilityDown, 'rejection probability in the outage').toBeGreaterThan(0);
  });

  it('every worker exits cleanly on SIGTERM', async () => {
    recordProcesses();
    const exits = await Promise.all(workers.map((w) => w.stop('SIGTERM')));
    expect(exits).toEqual(workers.map(() => ({ code: 0, signal: null })));
  });

  it('the API and the IdP exit cleanly on SIGTERM, and no process is left behind', async () => {
    const exits = await Promise.all([api!.stop('SIGTERM'), idp!.stop('SIGTERM')]);
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    await prom!.stop();
    await redis!.stop();
    // redis-server, the IdP, the API, 3 workers and Prometheus at least (plus descendants)
    expect(started.length).toBeGreaterThanOrEqual(WORKERS + 4);
    expect(stillRunning(started)).toEqual([]);
  });
});

// A real Prometheus (the Debian `prometheus` package) for tests: started on a free loopback
// port with an empty TSDB in a temporary directory, scraping the given static targets, and
// helpers that run every dashboard panel query against it.
//
// @example
// const prom = await startPrometheus({
//   jobs: [{ job: WORKER_JOB, targets: ['127.0.0.1:9464', '127.0.0.1:9465'] }],
//   scrapeInterval: '1s',
//   ruleFiles: [join(REPO_ROOT, 'prometheus/rules/steadfast.rules.yml')],
// });
// await prom.waitForScrapes(2);
// // ... drive the fleet ...
// const results = await runDashboardQueries(prom, await allVariables(prom, '2m'));
// expect(results.filter((r) => r.error || r.seriesCount === 0)).toEqual([]);
// await prom.stop();
// (test/kit/deploy/fleet-dashboards.test.ts does exactly this against real workers.)
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  MATCH_ALL,
  parseLabelValues,
  type QueryVariables,
  substituteVariables,
} from '../../dashboards/src/promql.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The path of a binary on PATH, or an Error naming the Debian package to install. Tests call
 * this in `beforeAll` and let the error fail them: a missing tool never skips a test.
 */
export function requireTool(binary: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error(
      `\`${binary}\` is not installed: install the Debian package \`${debianPackage}\` (apt-get install -y ${debianPackage})`,
    );
  }
  return path;
}

/**
 * `promtool check metrics` on an exposition `text`: exit code and output. Fails (never skips)
 * without promtool (Debian's `prometheus` package; `bash scripts/prereqs.sh` installs it).
 */
export function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(
      'promtool is not installed: install the Debian package `prometheus` (bash scripts/prereqs.sh)',
    );
  }
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A free TCP port on 127.0.0.1 (the OS picks it; released before returning). */
export async function freePort(): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface ScrapeJob {
  /** Job name; the alert rules expect the workers under `steadfast-worker` (WORKER_JOB). */
  readonly job: string;
  /** `host:port` targets. */
  readonly targets: readonly string[];
  readonly metricsPath?: string;
}

export interface PrometheusOptions {
  readonly jobs?: readonly ScrapeJob[];
  /** Default `1s`. */
  readonly scrapeInterval?: string;
  /** Default: the scrape interval. */
  readonly evaluationInterval?: string;
  /** Absolute paths of rule files to load. */
  readonly ruleFiles?: readonly string[];
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly values?: [number, string][];
}

export interface QueryResult {
  readonly resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  /** Series for vector/matrix; one pseudo-series for scalar/string. */
  readonly series: readonly PromSample[];
}

export class PrometheusQueryError extends Error {
  constructor(
    readonly expr: string,
    readonly errorType: string,
    message: string,
  ) {
    super(`${errorType}: ${message} (query: ${expr})`);
    this.name = 'PrometheusQueryError';
  }
}

export interface RunningPrometheus {
  readonly url: string;
  readonly port: number;
  /** PID of the `prometheus` process (gone once `stop()` resolved). */
  readonly pid: number;
  /** Instant query at `time` (Unix seconds; default now). Throws PrometheusQueryError. */
  query(expr: string, time?: number): Promise<QueryResult>;
  /** Exemplars of the series `expr` selects in [start, end] (Unix seconds). */
  queryExemplars(expr: string, start: number, end: number): Promise<unknown[]>;
  /** Active targets with their health (`up`, `down`, `unknown`). */
  targets(): Promise<{ job: string; instance: string; health: string; lastError: string }[]>;
  /** Resolve once every active target has been scraped successfully at least `scrapes` times. */
  waitForScrapes(scrapes?: number, maxWaitMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function configYaml(options: PrometheusOptions): string {
  const interval = options.scrapeInterval ?? '1s';
  const lines = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${options.evaluationInterval ?? interval}`,
  ];
  if (options.ruleFiles && options.ruleFiles.length > 0) {
    lines.push('rule_files:', ...options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`));
  }
  lines.push('scrape_configs:');
  if (!options.jobs || options.jobs.length === 0) {
    lines[lines.length - 1] = 'scrape_configs: []';
  }
  for (const job of options.jobs ?? []) {
    lines.push(
      `  - job_name: ${JSON.stringify(job.job)}`,
      `    metrics_path: ${JSON.stringify(job.metricsPath ?? '/metrics')}`,
      '    static_configs:',
      `      - targets: ${JSON.stringify(job.targets)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function api<T>(url: string, expr: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as {
    status: string;
    data?: T;
    errorType?: string;
    error?: string;
  };
  if (body.status !== 'success' || body.data === undefined) {
    throw new PrometheusQueryError(expr, body.errorType ?? `HTTP ${res.status}`, body.error ?? '');
  }
  return body.data;
}

/** Start a real Prometheus; resolves when it answers `/-/ready`. Always call `stop()`. */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const binary = requireTool('prometheus', 'prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, configYaml(options));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--enable-feature=exemplar-storage',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });
  let exited: number | string | null | undefined;
  const exitPromise = new Promise<void>((done) => {
    child.on('exit', (code, signal) => {
      exited = code ?? signal;
      done();
    });
  });

  const stop = async (): Promise<void> => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  // Readiness: poll until ready, the process dies, or 30 s pass.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`prometheus exited (${String(exited)}) before it was ready:\n${stderr}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url} within 30 s:\n${stderr}`);
    }
    await sleep(100);
  }

  const running: RunningPrometheus = {
    url,
    port,
    pid: child.pid ?? -1,
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) params.set('time', String(time));
      const data = await api<{ resultType: QueryResult['resultType']; result: unknown }>(
        `${url}/api/v1/query?${params}`,
        expr,
      );
      if (data.resultType === 'scalar' || data.resultType === 'string') {
        return {
          resultType: data.resultType,
          series: [{ metric: {}, value: data.result as [number, string] }],
        };
      }
      return { resultType: data.resultType, series: data.result as PromSample[] };
    },
    async queryExemplars(expr, start, end) {
      const params = new URLSearchParams({ query: expr, start: String(start), end: String(end) });
      return await api<unknown[]>(`${url}/api/v1/query_exemplars?${params}`, expr);
    },
    async targets() {
      const data = await api<{
        activeTargets: {
          labels: Record<string, string>;
          health: string;
          lastError: string;
        }[];
      }>(`${url}/api/v1/targets?state=active`, 'targets');
      return data.activeTargets.map((t) => ({
        job: t.labels.job ?? '',
        instance: t.labels.instance ?? '',
        health: t.health,
        lastError: t.lastError,
      }));
    },
    async waitForScrapes(scrapes = 2, maxWaitMs = 60_000) {
      // Successful scrapes of the least-scraped target: the sum of its `up` samples.
      const until = Date.now() + maxWaitMs;
      for (;;) {
        const result = await running.query('min(sum_over_time(up[1h]))');
        const targets = await running.targets();
        const value = Number(result.series[0]?.value?.[1] ?? 0);
        if (targets.length > 0 && targets.every((t) => t.health === 'up') && value >= scrapes) {
          return;
        }
        if (Date.now() > until) {
          throw new Error(
            `targets not scraped ${scrapes} times within ${maxWaitMs} ms: ${JSON.stringify(targets)}`,
          );
        }
        await sleep(250);
      }
    },
    stop,
  };
  return running;
}

// ---------------------------------------------------------------------------------------
// Dashboards

export interface PanelQuery {
  readonly dashboard: string;
  readonly row: string;
  readonly panelId: number;
  readonly panelTitle: string;
  readonly refId: string;
  /** As written in the dashboard, with Grafana variables. */
  readonly expr: string;
  readonly exemplar: boolean;
}

interface DashboardJson {
  readonly uid: string;
  readonly panels: readonly {
    readonly id: number;
    readonly type: string;
    readonly title: string;
    readonly targets?: readonly { refId?: string; expr?: string; exemplar?: boolean }[];
  }[];
  readonly templating: {
    readonly list: readonly { name: string; type: string; query?: unknown; allValue?: string }[];
  };
}

/** The committed dashboards (dashboards/*.json), parsed. */
export function loadDashboards(): Map<string, DashboardJson> {
  const dir = join(REPO_ROOT, 'dashboards');
  const files = spawnSync('sh', ['-c', 'ls *.json'], { cwd: dir, encoding: 'utf8' })
    .stdout.split('\n')
    .filter((f) => f.endsWith('.json'));
  return new Map(
    files.map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as DashboardJson]),
  );
}

/** Every Prometheus query of every panel of a dashboard, in panel order. */
export function panelQueries(dashboard: DashboardJson): PanelQuery[] {
  const out: PanelQuery[] = [];
  let row = '';
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') {
      row = panel.title;
      continue;
    }
    for (const t of panel.targets ?? []) {
      if (typeof t.expr !== 'string') continue;
      out.push({
        dashboard: dashboard.uid,
        row,
        panelId: panel.id,
        panelTitle: panel.title,
        refId: t.refId ?? '',
        expr: t.expr,
        exemplar: t.exemplar === true,
      });
    }
  }
  return out;
}

/** The `label_values(selector, label)` queries of a dashboard's query variables. */
export function variableQueries(
  dashboard: DashboardJson,
): { name: string; selector: string; label: string }[] {
  const out: { name: string; selector: string; label: string }[] = [];
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const q = v.query;
    const text =
      typeof q === 'string'
        ? q
        : typeof q === 'object' && q !== null
          ? String((q as { query?: unknown }).query)
          : '';
    const parsed = parseLabelValues(text);
    if (parsed === undefined) throw new Error(`variable ${v.name}: not label_values(): ${text}`);
    out.push({ name: v.name, ...parsed });
  }
  return out;
}

export interface PanelQueryResult extends PanelQuery {
  /** The query as sent, variables substituted. */
  readonly sent: string;
  /** Series (or 1 for a scalar) returned; 0 = "No data" in Grafana. */
  readonly seriesCount: number;
  /** Set when Prometheus refused the query. */
  readonly error?: string;
}

/**
 * Run every panel query of every committed dashboard against `prom`, with the dashboard
 * variables substituted (default: "All" = `.*`, rate interval 1m). Never throws for a bad
 * query: the result says what failed, so a test can list every failing panel at once.
 */
export async function runDashboardQueries(
  prom: RunningPrometheus,
  vars: QueryVariables = MATCH_ALL,
  time?: number,
): Promise<PanelQueryResult[]> {
  const results: PanelQueryResult[] = [];
  for (const dashboard of loadDashboards().values()) {
    for (const q of panelQueries(dashboard)) {
      const sent = substituteVariables(q.expr, vars);
      try {
        const r = await prom.query(sent, time);
        results.push({ ...q, sent, seriesCount: r.series.length });
      } catch (error) {
        results.push({ ...q, sent, seriesCount: 0, error: (error as Error).message });
      }
    }
  }
  return results;
}

/** A value inside a PromQL double-quoted regex string, escaped the way Grafana does. */
function escapeForRegexString(value: string): string {
  return value.replace(/[\\$^*{}[\]'+?.()|]/g, (c) => `\\\\${c}`);
}

/**
 * What Grafana substitutes when every variable is set to "All": the variable's `allValue`
 * when it has one, else the regex `(v1|v2|…)` of the values its `label_values()` query finds
 * (run for real, in order, so later variables see earlier ones).
 */
export async function allVariables(
  prom: RunningPrometheus,
  rateInterval = '1m',
): Promise<QueryVariables> {
  const vars: Record<string, string> = { ...MATCH_ALL, rateInterval };
  for (const dashboard of loadDashboards().values()) {
    const queries = new Map(variableQueries(dashboard).map((v) => [v.name, v]));
    for (const v of dashboard.templating.list) {
      const q = queries.get(v.name);
      if (q === undefined) continue;
      if (v.allValue !== undefined && v.allValue !== '') {
        vars[v.name] = v.allValue;
        continue;
      }
      const selector = substituteVariables(q.selector, vars as unknown as QueryVariables);
      const r = await prom.query(`count by (${q.label}) (${selector})`);
      const values = r.series.map((x) => x.metric[q.label] ?? '').sort();
      vars[v.name] = `(${values.map(escapeForRegexString).join('|')})`;
    }
  }
  return vars as unknown as QueryVariables;
}

/** The values each dashboard variable offers (Grafana's label_values, run for real). */
export async function runVariableQueries(
  prom: RunningPrometheus,
  vars: QueryVariables = MATCH_ALL,
): Promise<Map<string, string[]>> {
  const values = new Map<string, string[]>();
  for (const dashboard of loadDashboards().values()) {
    for (const v of variableQueries(dashboard)) {
      const selector = substituteVariables(v.selector, vars);
      const r = await prom.query(`count by (${v.label}) (${selector})`);
      values.set(v.name, r.series.map((s) => s.metric[v.label] ?? '').sort());
    }
  }
  return values;
}

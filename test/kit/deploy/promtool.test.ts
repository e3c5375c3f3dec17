// prometheus/: the real promtool accepts the config and the rules, the rule unit tests pass,
// every required alert exists, is unit-tested both ways, and has a runbook (docs/operating.md).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { KNOWN_SERIES, WORKER_JOB } from '../../../dashboards/src/metrics.js';
import { metricNames } from '../../../dashboards/src/promql.js';
import { REPO_ROOT, requireTool } from '../../helpers/prometheus.js';
import { alertExpectations, loadRules, RULE_TESTS_DIR, RULES_DIR, yamlFiles } from './rules.js';

/** The alerts a fleet must have (this list is their specification), each with its rule. */
const REQUIRED_ALERTS = {
  'breaker open for 5 m': 'SteadfastCircuitBreakerOpen',
  'breaker flapping': 'SteadfastCircuitBreakerFlapping',
  'retry ratio high (with a traffic guard)': 'SteadfastRetryRatioHigh',
  'token fetches failing': 'SteadfastTokenFetchesFailing',
  'token expiring soon with no refresh': 'SteadfastTokenExpiringSoon',
  'token store down': 'SteadfastTokenStoreDown',
  'worker down': 'SteadfastWorkerDown',
  'high 429 rate (share of attempts answered 429)': 'SteadfastRateLimitedHigh',
  'paused most of the time': 'SteadfastCooldownMostlyPaused',
  'quota utilisation near 100 % for long': 'SteadfastQuotaSaturated',
  'quota on its local share (fallback) for minutes': 'SteadfastQuotaOnLocalShare',
  'hedging budget exhausted a lot (hedges skipped over hedges wanted)':
    'SteadfastHedgeBudgetExhausted',
  'serving stale for long (share of calls served stale)': 'SteadfastServingStale',
  'adaptive concurrency limit pinned at its minimum': 'SteadfastAdaptiveLimitAtMinimum',
  'adaptive throttle refusing a large share of attempts': 'SteadfastThrottleRejectingHigh',
} as const;

let promtool = '';

function run(args: string[], cwd = REPO_ROOT): { status: number | null; output: string } {
  const r = spawnSync(promtool, args, { cwd, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

beforeAll(() => {
  promtool = requireTool('promtool', 'prometheus');
});

describe('promtool', () => {
  it('check config accepts prometheus/prometheus.yml (and the rule files it loads)', () => {
    const r = run(['check', 'config', 'prometheus/prometheus.yml']);
    expect(r.output).toMatch(/SUCCESS: \d+ rule files found/);
    expect(r.status, r.output).toBe(0);
  });

  it('check rules accepts every rule file', () => {
    const files = yamlFiles(RULES_DIR);
    expect(files.length).toBeGreaterThan(0);
    const r = run(['check', 'rules', ...files]);
    expect(r.status, r.output).toBe(0);
  });

  it('test rules passes every unit test file', () => {
    const files = yamlFiles(RULE_TESTS_DIR);
    expect(files.length).toBeGreaterThan(0);
    const r = run(['test', 'rules', ...files]);
    expect(r.output).toContain('SUCCESS');
    expect(r.status, r.output).toBe(0);
  });
});

describe('alert rules', () => {
  const rules = loadRules();
  const alerts = rules.filter((r) => r.alert !== undefined);
  const records = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));

  it('implement every alert TELEMETRY.md lists', () => {
    const names = alerts.map((a) => a.alert);
    for (const [what, alert] of Object.entries(REQUIRED_ALERTS)) {
      expect(names, what).toContain(alert);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it('each carry a severity, summary, description and a runbook section that exists', () => {
    const operating = readFileSync(join(REPO_ROOT, 'docs/operating.md'), 'utf8');
    const anchors = new Set(
      [...operating.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1] ?? '')),
    );
    const problems: string[] = [];
    for (const a of alerts) {
      if (!['warning', 'critical'].includes(a.labels?.severity ?? '')) {
        problems.push(`${a.alert}: severity`);
      }
      for (const key of ['summary', 'description', 'runbook_url']) {
        if (!a.annotations?.[key]?.trim()) problems.push(`${a.alert}: no ${key}`);
      }
      const url = a.annotations?.runbook_url ?? '';
      const m = /^docs\/operating\.md#([a-z0-9_-]+)$/.exec(url);
      if (m === null) {
        problems.push(`${a.alert}: runbook_url ${url} does not point into docs/operating.md`);
      } else if (!anchors.has(m[1]!)) {
        problems.push(`${a.alert}: docs/operating.md has no section #${m[1]}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('select only metric families of the contract (or recorded series)', () => {
    const unknown: string[] = [];
    for (const r of rules) {
      for (const name of metricNames(r.expr)) {
        if (!KNOWN_SERIES.has(name) && !records.has(name)) {
          unknown.push(`${r.alert ?? r.record}: ${name}`);
        }
      }
    }
    expect(unknown).toEqual([]);
  });

  it('select the workers by the job the scrape configs use', () => {
    const withJob = alerts.filter((a) => a.expr.includes('job='));
    expect(withJob.length).toBeGreaterThan(0);
    for (const a of withJob) expect(a.expr, a.alert).toContain(`job="${WORKER_JOB}"`);
  });

  it('each have unit tests where the alert fires and where it stays quiet', () => {
    const expectations = alertExpectations();
    const problems: string[] = [];
    for (const a of alerts) {
      const mine = expectations.filter((e) => e.alertname === a.alert);
      if (!mine.some((e) => e.firing)) problems.push(`${a.alert}: no case where it fires`);
      if (!mine.some((e) => !e.firing)) problems.push(`${a.alert}: no case where it stays quiet`);
    }
    const unknown = expectations.filter((e) => !alerts.some((a) => a.alert === e.alertname));
    for (const e of unknown) problems.push(`test "${e.test}" names unknown alert ${e.alertname}`);
    expect(problems).toEqual([]);
  });
});

describe('the rule unit tests constrain the rules', () => {
  // Each alert's expression replaced by one that never fires must make `promtool test
  // rules` fail: proof that the tests exercise the real expressions.
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'steadfast-rules-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const alert of loadRules().filter((r) => r.alert !== undefined)) {
    it(`fails when ${alert.alert} never fires`, () => {
      const work = join(dir, alert.alert!);
      cpSync(join(REPO_ROOT, 'prometheus'), work, { recursive: true });
      const ruleFile = join(work, 'rules', basename(alert.file));
      const doc = parseYaml(readFileSync(ruleFile, 'utf8')) as {
        groups: { rules: { alert?: string; expr: string }[] }[];
      };
      for (const g of doc.groups) {
        for (const r of g.rules) if (r.alert === alert.alert) r.expr = 'vector(1) == 0';
      }
      writeFileSync(ruleFile, stringifyYaml(doc));
      const tests = yamlFiles(join(work, 'tests'));
      const r = run(['test', 'rules', ...tests], work);
      expect(r.status, 'promtool test rules should have failed').not.toBe(0);
      expect(r.output).toContain(`alertname: ${alert.alert}`);
    });
  }
});

// The generated Grafana dashboard: committed JSON equals the generator's output, and every
// panel follows the house rules for panels (unit, description, datasource variable,
// $__rate_interval in every rate) and selects only metrics of the contract.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DASHBOARD_FILE, DASHBOARD_UID, DATASOURCE } from '../../../dashboards/src/fleet.js';
import { renderDashboards } from '../../../dashboards/src/generate.js';
import { KNOWN_SERIES, SDK_METRICS, seriesNames } from '../../../dashboards/src/metrics.js';
import { metricNames } from '../../../dashboards/src/promql.js';
import {
  loadDashboards,
  panelQueries,
  REPO_ROOT,
  variableQueries,
} from '../../helpers/prometheus.js';
import { ruleExpressions } from './rules.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { refId?: string; expr?: string; exemplar?: boolean; datasource?: { uid?: string } }[];
  gridPos?: { h: number; w: number; x: number; y: number };
}

const dashboards = loadDashboards();
const fleet = dashboards.get(DASHBOARD_FILE)!;
const panels = (fleet as unknown as { panels: Panel[] }).panels;
const dataPanels = panels.filter((p) => p.type !== 'row');

/** The dashboard's rows, in order: this list is their specification. */
const ROWS = [
  'Overview',
  'Wire attempts',
  'Retries',
  'Circuit breakers',
  'Rate limits & quotas',
  'Hedging, fallback & adaptive concurrency',
  'Tokens across the fleet',
  'Workers',
];

describe('generated dashboards', () => {
  it('the committed JSON is exactly what dashboards/src/generate.ts produces', () => {
    const rendered = renderDashboards();
    expect([...rendered.keys()].sort()).toEqual([...dashboards.keys()].sort());
    for (const [file, content] of rendered) {
      const committed = readFileSync(join(REPO_ROOT, 'dashboards', file), 'utf8');
      // On failure: run `node --import tsx dashboards/src/generate.ts` and commit the JSON.
      expect(committed, `${file} drifted from its generator`).toBe(content);
    }
  });

  it('has the rows of TELEMETRY.md, in order, each with panels', () => {
    const rows = panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(ROWS);
    // every row is followed by at least one panel
    panels.forEach((p, i) => {
      if (p.type === 'row') expect(panels[i + 1]?.type, `row ${p.title} is empty`).not.toBe('row');
    });
    expect(panels.at(-1)?.type).not.toBe('row');
  });

  it('has the variables datasource, job, instance, client, credential', () => {
    const list = fleet.templating.list as unknown as {
      name: string;
      type: string;
      query?: unknown;
      datasource?: { uid?: string };
      refresh?: number;
    }[];
    expect(list.map((v) => v.name)).toEqual([
      'datasource',
      'job',
      'instance',
      'client',
      'credential',
    ]);
    expect(list[0]).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const v of list.slice(1)) {
      expect(v.type, v.name).toBe('query');
      expect(v.datasource?.uid, v.name).toBe(DATASOURCE.uid);
      expect(v.refresh, `${v.name} refreshes on time range change`).toBe(2);
    }
    // "All" jobs must expand to the worker jobs, never `.*` (that would match every job)
    expect((list[1] as { allValue?: string }).allValue).toBeUndefined();
    expect(fleet.uid).toBe(DASHBOARD_UID);
  });

  it('gives every panel a unique id, a title, a description, a unit and the datasource variable', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size, 'panel ids are unique').toBe(ids.length);
    const problems: string[] = [];
    for (const p of dataPanels) {
      const name = `#${p.id} ${p.title}`;
      if (!p.title?.trim()) problems.push(`${name}: no title`);
      if ((p.description ?? '').trim().length < 20) problems.push(`${name}: no description`);
      const unit = p.fieldConfig?.defaults?.unit;
      if (typeof unit !== 'string' || unit === '') problems.push(`${name}: no unit`);
      if (p.datasource?.uid !== DATASOURCE.uid)
        problems.push(`${name}: datasource is not $datasource`);
      if (!p.targets || p.targets.length === 0) problems.push(`${name}: no query`);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      if (new Set(refIds).size !== refIds.length) problems.push(`${name}: duplicate refIds`);
      for (const t of p.targets ?? []) {
        if (t.datasource?.uid !== DATASOURCE.uid) {
          problems.push(`${name}/${t.refId}: query datasource is not $datasource`);
        }
        if (typeof t.expr !== 'string' || t.expr.trim() === '') {
          problems.push(`${name}/${t.refId}: empty expr`);
        }
      }
      const g = p.gridPos;
      if (!g || g.x + g.w > 24) problems.push(`${name}: bad gridPos ${JSON.stringify(g)}`);
    }
    expect(problems).toEqual([]);
  });

  it('uses $__rate_interval in every rate/increase, and no other range', () => {
    const problems: string[] = [];
    for (const q of panelQueries(fleet)) {
      const name = `#${q.panelId} ${q.panelTitle}/${q.refId}`;
      const ranges = [...q.expr.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]);
      for (const r of ranges) {
        if (r !== '$__rate_interval') problems.push(`${name}: range [${r}]`);
      }
      const rangeFns = q.expr.match(/\b(rate|irate|increase|[a-z]+_over_time)\s*\(/g) ?? [];
      if (rangeFns.length > ranges.length)
        problems.push(`${name}: a range function without a range`);
      if (/\$__interval\b/.test(q.expr))
        problems.push(`${name}: $__interval instead of $__rate_interval`);
    }
    expect(problems).toEqual([]);
  });

  it('filters every query by the job and instance variables', () => {
    const problems = panelQueries(fleet)
      .filter((q) => !q.expr.includes('job=~"$job"') || !q.expr.includes('instance=~"$instance"'))
      .map((q) => `#${q.panelId} ${q.panelTitle}/${q.refId}`);
    expect(problems).toEqual([]);
  });

  it('turns exemplars on for the latency panels of the two duration histograms', () => {
    const latency = panelQueries(fleet).filter(
      (q) =>
        q.expr.startsWith('histogram_quantile(') &&
        (q.expr.includes('http_client_request_duration_seconds_bucket') ||
          q.expr.includes('steadfast_call_duration_seconds_bucket')),
    );
    expect(latency.length).toBeGreaterThanOrEqual(2);
    expect(latency.filter((q) => !q.exemplar).map((q) => q.panelTitle)).toEqual([]);
  });

  it('selects only metric families of the TELEMETRY.md contract', () => {
    const unknown: string[] = [];
    for (const q of panelQueries(fleet)) {
      for (const name of metricNames(q.expr)) {
        if (!KNOWN_SERIES.has(name)) unknown.push(`#${q.panelId} ${q.panelTitle}: ${name}`);
      }
    }
    for (const v of variableQueries(fleet)) {
      for (const name of metricNames(v.selector)) {
        if (!KNOWN_SERIES.has(name)) unknown.push(`variable ${v.name}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('leaves no SDK metric family without a panel or an alert', () => {
    const used = new Set<string>();
    for (const q of panelQueries(fleet)) for (const n of metricNames(q.expr)) used.add(n);
    for (const v of variableQueries(fleet)) for (const n of metricNames(v.selector)) used.add(n);
    for (const r of ruleExpressions()) for (const n of metricNames(r.expr)) used.add(n);
    const unused = SDK_METRICS.filter((m) => !seriesNames(m).some((s) => used.has(s))).map(
      (m) => m.name,
    );
    expect(unused).toEqual([]);
  });
});

describe('metricNames (the extractor the contract checks rely on)', () => {
  it('finds selected series and ignores functions, labels, keywords and variables', () => {
    expect(
      metricNames(
        'sum by (le, client) (rate(foo_bucket{job=~"$job",x!="a b"}[$__rate_interval])) / ignoring (state) bar offset 5m and on (job) baz > bool 0.5',
      ),
    ).toEqual(['bar', 'baz', 'foo_bucket']);
    expect(metricNames('max by (instance) (up{job="x"}) - time() < 1e3')).toEqual(['up']);
    expect(metricNames('job_client:steadfast_calls:rate5m > 0.1')).toEqual([
      'job_client:steadfast_calls:rate5m',
    ]);
  });
});

describe('Grafana provisioning', () => {
  const datasources = parseYaml(
    readFileSync(join(REPO_ROOT, 'dashboards/provisioning/datasources/datasources.yml'), 'utf8'),
  ) as {
    datasources: {
      name: string;
      type: string;
      uid: string;
      url: string;
      isDefault?: boolean;
      jsonData?: { exemplarTraceIdDestinations?: { name: string; datasourceUid: string }[] };
    }[];
  };
  const providers = parseYaml(
    readFileSync(join(REPO_ROOT, 'dashboards/provisioning/dashboards/steadfast.yml'), 'utf8'),
  ) as { providers: { type: string; options: { path: string } }[] };

  it('provisions Prometheus (default) and a trace backend', () => {
    const prom = datasources.datasources.find((d) => d.type === 'prometheus');
    expect(prom?.isDefault).toBe(true);
    expect(datasources.datasources.some((d) => d.type === 'tempo' || d.type === 'jaeger')).toBe(
      true,
    );
    // the dashboard's datasource variable default names this datasource
    const dsVar = fleet.templating.list[0] as unknown as { current?: { value?: string } };
    expect(dsVar.current?.value).toBe(prom?.uid);
  });

  it('links exemplars (label trace_id) to the provisioned trace datasource', () => {
    const prom = datasources.datasources.find((d) => d.type === 'prometheus')!;
    const dest = prom.jsonData?.exemplarTraceIdDestinations ?? [];
    expect(dest).toHaveLength(1);
    expect(dest[0]?.name).toBe('trace_id');
    const target = datasources.datasources.find((d) => d.uid === dest[0]?.datasourceUid);
    expect(target?.type).toMatch(/^(tempo|jaeger)$/);
  });

  it('loads dashboards from a file provider', () => {
    expect(providers.providers).toHaveLength(1);
    expect(providers.providers[0]).toMatchObject({ type: 'file' });
    expect(providers.providers[0]?.options.path).toMatch(/^\//);
  });
});

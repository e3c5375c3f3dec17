// Every PromQL expression the project ships — dashboard panels (variables substituted the
// way Grafana does), dashboard variables and rules — is accepted by a real Prometheus.
// The TSDB is empty, so this proves syntax and types, not data: the end-to-end test of the
// fleet runs the same queries against scraped workers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MATCH_ALL, substituteVariables } from '../../../dashboards/src/promql.js';
import {
  loadDashboards,
  PrometheusQueryError,
  panelQueries,
  type RunningPrometheus,
  runDashboardQueries,
  runVariableQueries,
  startPrometheus,
  variableQueries,
} from '../../helpers/prometheus.js';
import { loadRules } from './rules.js';

let prom: RunningPrometheus | undefined;

beforeAll(async () => {
  prom = await startPrometheus();
});

afterAll(async () => {
  await prom?.stop();
});

describe('PromQL accepted by a real Prometheus', () => {
  it('rejects a malformed query (the check can fail)', async () => {
    await expect(prom!.query('sum(rate(up[5m])')).rejects.toBeInstanceOf(PrometheusQueryError);
    await expect(prom!.query('rate(up)')).rejects.toThrow(/bad_data/);
  });

  it('accepts every dashboard panel query, with the variables substituted', async () => {
    const results = await runDashboardQueries(prom!);
    const total = [...loadDashboards().values()].reduce((n, d) => n + panelQueries(d).length, 0);
    expect(results).toHaveLength(total);
    expect(total).toBeGreaterThan(20);
    expect(results.filter((r) => r.error).map((r) => `${r.panelTitle}: ${r.error}`)).toEqual([]);
    // nothing Grafana-specific is left in what was sent
    expect(results.filter((r) => r.sent.includes('$')).map((r) => r.sent)).toEqual([]);
  });

  it('accepts the queries with one value per variable, and Grafana multi-value regexes', async () => {
    for (const vars of [
      { ...MATCH_ALL, job: 'steadfast-worker', client: 'weather', rateInterval: '20s' },
      { ...MATCH_ALL, instance: '(w1:9464|w2:9464)', credential: '(demo|other)' },
    ]) {
      const results = await runDashboardQueries(prom!, vars);
      expect(results.filter((r) => r.error).map((r) => `${r.panelTitle}: ${r.error}`)).toEqual([]);
    }
  });

  it('accepts every dashboard variable query (label_values selector)', async () => {
    const values = await runVariableQueries(prom!);
    const names = [...loadDashboards().values()].flatMap((d) =>
      variableQueries(d).map((v) => v.name),
    );
    expect([...values.keys()].sort()).toEqual([...names].sort());
  });

  it('accepts every alert and recording rule expression', async () => {
    const rules = loadRules();
    expect(rules.length).toBeGreaterThan(0);
    const errors: string[] = [];
    for (const r of rules) {
      try {
        await prom!.query(substituteVariables(r.expr));
      } catch (error) {
        errors.push(`${r.alert ?? r.record}: ${(error as Error).message}`);
      }
    }
    expect(errors).toEqual([]);
  });
});

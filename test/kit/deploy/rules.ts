// Reads prometheus/rules/*.yml and prometheus/tests/*.yml for the deploy tests.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../../helpers/prometheus.js';

export const RULES_DIR = join(REPO_ROOT, 'prometheus', 'rules');
export const RULE_TESTS_DIR = join(REPO_ROOT, 'prometheus', 'tests');

export interface Rule {
  readonly file: string;
  readonly group: string;
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

export function loadRules(): Rule[] {
  const out: Rule[] = [];
  for (const file of yamlFiles(RULES_DIR)) {
    const doc = parseYaml(readFileSync(file, 'utf8')) as {
      groups: { name: string; rules: Omit<Rule, 'file' | 'group'>[] }[];
    };
    for (const g of doc.groups) {
      for (const r of g.rules) out.push({ file, group: g.name, ...r });
    }
  }
  return out;
}

export function ruleExpressions(): { name: string; expr: string }[] {
  return loadRules().map((r) => ({ name: r.alert ?? r.record ?? '?', expr: r.expr }));
}

export interface AlertExpectation {
  readonly file: string;
  readonly test: string;
  readonly alertname: string;
  readonly evalTime: string;
  readonly firing: boolean;
}

/** Every `alert_rule_test` case of every promtool test file. */
export function alertExpectations(): AlertExpectation[] {
  const out: AlertExpectation[] = [];
  for (const file of yamlFiles(RULE_TESTS_DIR)) {
    const doc = parseYaml(readFileSync(file, 'utf8')) as {
      tests: {
        name?: string;
        alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] }[];
      }[];
    };
    for (const t of doc.tests) {
      for (const a of t.alert_rule_test ?? []) {
        out.push({
          file,
          test: t.name ?? '',
          alertname: a.alertname,
          evalTime: a.eval_time,
          firing: (a.exp_alerts ?? []).length > 0,
        });
      }
    }
  }
  return out;
}

// Small, dependency-free helpers over PromQL text, shared by the dashboard generator, the
// deploy tests and the Prometheus test helper. Syntax itself is checked by a real
// Prometheus/promtool in the tests; this only finds names and substitutes variables.

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric (series) names a PromQL expression selects, e.g. `http_client_request_duration_seconds_bucket`.
 * Works on expressions that still contain Grafana variables.
 */
export function metricNames(expr: string): string[] {
  const s = expr
    // string literals (label values, regexes, variables inside them)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    // label matchers, range/subquery selectors
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    // grouping label lists
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    // offset/@ modifiers and numbers (durations after offset, scalars, 1e3)
    .replace(/\boffset\s+-?[0-9a-z]+/g, ' ')
    .replace(/@\s*[^\s)]+/g, ' ')
    .replace(/(?<![A-Za-z_:0-9])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, ' ');
  const names = new Set<string>();
  const ident = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  for (let m = ident.exec(s); m !== null; m = ident.exec(s)) {
    const word = m[0];
    const rest = s.slice(m.index + word.length).trimStart();
    if (rest.startsWith('(')) continue; // function or aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names].sort();
}

/** Values for the dashboard variables when a panel query is run outside Grafana. */
export interface QueryVariables {
  readonly rateInterval: string;
  readonly job: string;
  readonly instance: string;
  readonly client: string;
  readonly credential: string;
}

export const MATCH_ALL: QueryVariables = {
  rateInterval: '1m',
  job: '.*',
  instance: '.*',
  client: '.*',
  credential: '.*',
};

/**
 * Substitute Grafana's variables the way Grafana does for a Prometheus query: the
 * interval variables become durations; `$var`/`${var}` become the (regex) value.
 */
export function substituteVariables(expr: string, vars: QueryVariables = MATCH_ALL): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, vars.rateInterval)
    .replace(/\$__interval|\$\{__interval\}/g, vars.rateInterval)
    .replace(/\$__range|\$\{__range\}/g, vars.rateInterval)
    .replace(/\$\{?(job|instance|client|credential)\}?/g, (_, name: keyof QueryVariables) =>
      String(vars[name]),
    );
}

/** Grafana's `label_values(selector, label)` variable query, as PromQL selector and label. */
export function parseLabelValues(query: string): { selector: string; label: string } | undefined {
  const m = /^label_values\(\s*(.+)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/.exec(query.trim());
  if (m === null) return undefined;
  return { selector: m[1]!.trim(), label: m[2]! };
}

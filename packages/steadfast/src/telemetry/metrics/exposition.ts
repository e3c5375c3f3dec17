import { Registry } from 'prom-client';
import type { MetricsRegistry } from '../types.js';

/** Exposition formats `/metrics` can serve. */
export type ExpositionFormat = 'openmetrics' | 'text';

/** `Content-Type` of OpenMetrics 1.0 (what Prometheus asks for first). */
export const OPENMETRICS_CONTENT_TYPE =
  'application/openmetrics-text; version=1.0.0; charset=utf-8';
/** `Content-Type` of the Prometheus text format 0.0.4. */
export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Sample {
  readonly value: number;
  readonly labels: Record<string, string | number> | undefined;
  /** Labels common to a group of samples (prom-client's histograms share them per series). */
  readonly sharedLabels?: Record<string, string | number>;
  readonly metricName?: string;
  readonly exemplar?: {
    readonly labelSet: Record<string, string | number>;
    readonly value: number;
    readonly timestamp?: number;
  } | null;
}

interface MetricData {
  readonly name: string;
  readonly help: string;
  readonly type: unknown;
  readonly values?: readonly Sample[];
}

interface PromMetric {
  getForPromString?(): Promise<MetricData> | MetricData;
  get(): Promise<MetricData> | MetricData;
}

/**
 * Render `registry` in either format, whatever type the registry was created with.
 *
 * prom-client renders a registry in the one format it was created with, and rendering an
 * OpenMetrics registry renames its counters in place (drops `_total` from `metric.name`),
 * so it cannot serve both formats from one set of metrics. This renderer reads the values
 * the way prom-client does (`getForPromString`, shared label sets formatted once) and never
 * mutates a metric. Counters: OpenMetrics families are `<name without _total>` with
 * `_total` samples; in the text format, counters of an OpenMetrics registry are written as
 * `<base>_total` too, so a name is the same in both formats. Exemplars appear in
 * OpenMetrics only (the text format has no syntax for them). The registry's default labels
 * are applied.
 */
export async function renderMetrics(
  registry: MetricsRegistry,
  format: ExpositionFormat,
): Promise<string> {
  const openMetrics = format === 'openmetrics';
  const registryIsOpenMetrics = registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE;
  const defaults = (registry as unknown as { _defaultLabels?: Record<string, string> })
    ._defaultLabels;
  const defaultLabels = defaults && Object.keys(defaults).length > 0 ? defaults : undefined;
  const metrics = registry.getMetricsAsArray() as unknown as PromMetric[];
  const data = await Promise.all(
    metrics.map((m) => (typeof m.getForPromString === 'function' ? m.getForPromString() : m.get())),
  );
  let out = '';
  for (const metric of data) {
    const type = String(metric.type);
    const isCounter = type === 'counter';
    const base = isCounter ? metric.name.replace(/_total$/, '') : metric.name;
    // Counter samples are `<base>_total` in OpenMetrics and in any format of an OpenMetrics
    // registry; a text registry keeps prom-client's text behaviour (the name as registered).
    const counterSample = openMetrics || registryIsOpenMetrics ? `${base}_total` : metric.name;
    // OpenMetrics names the family without `_total`; the text format names it as its samples.
    const family = isCounter ? (openMetrics ? base : counterSample) : metric.name;
    const sampleName = isCounter ? counterSample : metric.name;
    out += `# HELP ${family} ${escapeHelp(metric.help)}\n# TYPE ${family} ${type}\n`;
    let sharedFor: object | undefined;
    let sharedBody = '';
    for (const sample of metric.values ?? []) {
      const shared = sample.sharedLabels;
      if (shared !== sharedFor) {
        sharedFor = shared;
        sharedBody = shared ? labelBody(shared, undefined) : '';
      }
      let body = sharedBody;
      if (sample.labels) body = joinBodies(body, labelBody(sample.labels, shared));
      if (defaultLabels) body = joinBodies(body, defaultBody(defaultLabels, sample.labels, shared));
      out += `${sample.metricName ?? sampleName}${body ? `{${body}}` : ''} ${formatValue(sample.value)}`;
      const exemplar = sample.exemplar;
      if (openMetrics && exemplar?.labelSet) {
        const exemplarBody = labelBody(exemplar.labelSet, undefined);
        if (exemplarBody) {
          out += ` # {${exemplarBody}} ${formatValue(exemplar.value)}`;
          if (exemplar.timestamp !== undefined) out += ` ${exemplar.timestamp}`;
        }
      }
      out += '\n';
    }
  }
  if (openMetrics) out += '# EOF\n';
  return out;
}

function joinBodies(a: string, b: string): string {
  if (!a) return b;
  return b ? `${a},${b}` : a;
}

/** `name="value",...` for `labels`, skipping names present in `exclude`. */
function labelBody(
  labels: Record<string, string | number>,
  exclude: Record<string, unknown> | undefined,
): string {
  let body = '';
  for (const name in labels) {
    if (exclude !== undefined && name in exclude) continue;
    const value = labels[name];
    if (value === undefined) continue;
    body += `${body ? ',' : ''}${name}="${escapeLabelValue(String(value))}"`;
  }
  return body;
}

/** The registry's default labels a sample does not set itself. */
function defaultBody(
  defaults: Record<string, string>,
  labels: Record<string, unknown> | undefined,
  shared: Record<string, unknown> | undefined,
): string {
  let body = '';
  for (const name in defaults) {
    if ((labels && name in labels) || (shared && name in shared)) continue;
    body += `${body ? ',' : ''}${name}="${escapeLabelValue(String(defaults[name]))}"`;
  }
  return body;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/**
 * Pick the format from an `Accept` header: OpenMetrics when it is acceptable with a
 * q-value at least as high as the text format's, else text 0.0.4. No header → text.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'text';
  let openMetricsQ = 0;
  let textQ = 0;
  let wildcardQ = 0;
  for (const part of accept.split(',')) {
    const [rawType, ...params] = part.trim().split(';');
    const type = rawType?.trim().toLowerCase() ?? '';
    let q = 1;
    for (const param of params) {
      const [key, val] = param.split('=').map((s) => s.trim());
      if (key === 'q' && val !== undefined) q = Number(val) || 0;
    }
    if (type === 'application/openmetrics-text') openMetricsQ = Math.max(openMetricsQ, q);
    else if (type === 'text/plain') textQ = Math.max(textQ, q);
    else if (type === '*/*' || type === 'text/*') wildcardQ = Math.max(wildcardQ, q);
  }
  if (openMetricsQ > 0 && openMetricsQ >= Math.max(textQ, wildcardQ)) return 'openmetrics';
  return 'text';
}

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
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
  readonly exemplar?: {
    readonly labelSet: Record<string, string | number>;
    readonly value: number;
    readonly timestamp?: number;
  } | null;
}

/**
 * Render `registry` in either format, whatever type the registry was created with.
 *
 * prom-client renders a registry in the one format it was created with, and rendering an
 * OpenMetrics registry renames its counters in place (drops `_total` from `metric.name`),
 * so it cannot serve both formats from one set of metrics. This renderer reads the values
 * (`getMetricsAsJSON`, which also applies the registry's default labels) and never mutates
 * a metric. Counters: OpenMetrics families are `<name without _total>` with `_total`
 * samples; in the text format, counters of an OpenMetrics registry are written as
 * `<base>_total` too, so a name is the same in both formats. Exemplars appear in
 * OpenMetrics only (the text format has no syntax for them).
 */
export async function renderMetrics(
  registry: MetricsRegistry,
  format: ExpositionFormat,
): Promise<string> {
  const openMetrics = format === 'openmetrics';
  const registryIsOpenMetrics = registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE;
  const metrics = await registry.getMetricsAsJSON();
  const out: string[] = [];
  for (const metric of metrics) {
    const type = String(metric.type);
    const isCounter = type === 'counter';
    const base = isCounter ? metric.name.replace(/_total$/, '') : metric.name;
    // Counter samples are `<base>_total` in OpenMetrics and in any format of an OpenMetrics
    // registry; a text registry keeps prom-client's text behaviour (the name as registered).
    const counterSample = openMetrics || registryIsOpenMetrics ? `${base}_total` : metric.name;
    // OpenMetrics names the family without `_total`; the text format names it as its samples.
    const family = isCounter ? (openMetrics ? base : counterSample) : metric.name;
    out.push(`# HELP ${family} ${escapeHelp(metric.help)}`);
    out.push(`# TYPE ${family} ${type}`);
    for (const sample of metric.values as readonly Sample[]) {
      const name = sample.metricName ?? (isCounter ? counterSample : metric.name);
      let line = `${name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`;
      const exemplar = sample.exemplar;
      if (openMetrics && exemplar?.labelSet && Object.keys(exemplar.labelSet).length > 0) {
        line += ` # ${formatLabels(exemplar.labelSet) || '{}'} ${formatValue(exemplar.value)}`;
        if (exemplar.timestamp !== undefined) line += ` ${exemplar.timestamp}`;
      }
      out.push(line);
    }
  }
  if (openMetrics) out.push('# EOF');
  return `${out.join('\n')}\n`;
}

function formatLabels(labels: Record<string, string | number> | undefined): string {
  if (!labels) return '';
  let body = '';
  for (const name in labels) {
    const value = labels[name];
    if (value === undefined) continue;
    body += `${body ? ',' : ''}${name}="${escapeLabelValue(String(value))}"`;
  }
  return body ? `{${body}}` : '';
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

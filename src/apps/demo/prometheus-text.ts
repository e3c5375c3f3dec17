/** One sample of a Prometheus text exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** The OpenMetrics exemplar after ` # `, as written (`{trace_id="…"} 0.01 1700000000`). */
  readonly exemplar: string | undefined;
}

/** How {@link parsePrometheusText} treats a line it cannot read. */
export interface ParseOptions {
  /**
   * Throw on a line that is neither a comment, blank nor a sample, instead of skipping it.
   * Default: false (the demo's view is best-effort; tests of the SDK's own exposition set it).
   */
  readonly strict?: boolean;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;

/**
 * Parse the Prometheus text format (0.0.4; OpenMetrics too, exemplars kept apart) into
 * samples, label values unescaped. Comments and blank lines are skipped; a line it cannot
 * read is skipped too, unless `strict` is set.
 *
 * @example parsePrometheusText('steadfast_calls_total{client="w",kind="x"} 3') // => [{ name: 'steadfast_calls_total', labels: { client: 'w', kind: 'x' }, value: 3, exemplar: undefined }]
 */
export function parsePrometheusText(text: string, options: ParseOptions = {}): Sample[] {
  const samples: Sample[] = [];
  for (const rawLine of text.split('\n')) {
    const exemplarAt = rawLine.indexOf(' # ');
    const line = (exemplarAt === -1 ? rawLine : rawLine.slice(0, exemplarAt)).trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    const value = match ? parseValue(match[4]!) : undefined;
    if (!match || value === undefined) {
      if (options.strict) throw new Error(`unparseable exposition line: ${rawLine}`);
      continue;
    }
    const labels: Record<string, string> = {};
    if (match[3]) {
      for (const pair of match[3].matchAll(LABEL_PAIR)) {
        labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, char: string) =>
          char === 'n' ? '\n' : char,
        );
      }
    }
    const exemplar = exemplarAt === -1 ? undefined : rawLine.slice(exemplarAt + 3).trim();
    samples.push({ name: match[1]!, labels, value, exemplar });
  }
  return samples;
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/** Sum of the samples named `name` whose labels include every pair of `match`. */
export function sumOf(
  samples: readonly Sample[],
  name: string,
  match: Readonly<Record<string, string>> = {},
): number {
  let total = 0;
  for (const sample of samples) {
    if (sample.name !== name) continue;
    if (Object.entries(match).every(([key, value]) => sample.labels[key] === value)) {
      total += sample.value;
    }
  }
  return total;
}

/** Sums of the samples named `name`, grouped by the value of `label`. */
export function sumBy(
  samples: readonly Sample[],
  name: string,
  label: string,
): Record<string, number> {
  const groups: Record<string, number> = {};
  for (const sample of samples) {
    if (sample.name !== name) continue;
    const key = sample.labels[label] ?? '';
    groups[key] = (groups[key] ?? 0) + sample.value;
  }
  return groups;
}

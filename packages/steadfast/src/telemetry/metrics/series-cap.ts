import { OTHER } from '../attributes.js';

/**
 * Default most series one family may hold in a registry (`telemetry.metrics.maxSeriesPerFamily`):
 * 2,000, OpenTelemetry's default cardinality limit.
 */
export const DEFAULT_MAX_SERIES_PER_FAMILY = 2_000;
/** Bounds of `maxSeriesPerFamily`: room for the largest overflow series (20) and more. */
export const MIN_MAX_SERIES_PER_FAMILY = 100;
export const MAX_MAX_SERIES_PER_FAMILY = 10_000_000;

/** A label set as prom-client takes it. */
export type Labels = Readonly<Record<string, string>>;

/**
 * The series cap of one family in one registry. Counted in Prometheus series, as a scrape
 * sees them: a counter or gauge label set is 1 series, a histogram label set is one per
 * bucket, `+Inf`, `_sum` and `_count` (17 for the attempt histogram). Label sets are admitted
 * until the next one would pass the limit; from then on every new label set is recorded in
 * the overflow series, whose labels are all `_OTHER` (Prometheus' form of OpenTelemetry's
 * `otel.metric.overflow`). Room for the overflow series is kept from the start, so the
 * family never holds more than `limit` series.
 *
 * `admit` is for new label sets only: callers keep what it returned (see {@link LabelCache}),
 * so the hot path never builds a key. A registry reset does not give room back.
 */
export class SeriesCap {
  readonly #labelNames: readonly string[];
  readonly #costPerLabelSet: number;
  /** Series label sets may use: the limit less the overflow series. */
  readonly #room: number;
  readonly #admitted = new Set<string>();
  #used = 0;
  #overflowed = 0;
  /** The overflow label set: every label `_OTHER`. */
  readonly overflowLabels: Labels;

  constructor(
    readonly limit: number,
    labelNames: readonly string[],
    costPerLabelSet: number,
  ) {
    this.#labelNames = labelNames;
    this.#costPerLabelSet = costPerLabelSet;
    this.#room = limit - costPerLabelSet;
    const overflow: Record<string, string> = {};
    for (const name of labelNames) overflow[name] = OTHER;
    this.overflowLabels = Object.freeze(overflow);
  }

  /** `labels` when it fits under the limit (or was admitted before), else the overflow labels. */
  admit<L extends Labels>(labels: L): L {
    let key = '';
    // An absent label and an empty one are different series: mark absence apart.
    for (const name of this.#labelNames) {
      const value = labels[name];
      key += value === undefined ? '\u0000\u0001' : `\u0000${value}`;
    }
    if (this.#admitted.has(key)) return labels;
    if (this.#used + this.#costPerLabelSet > this.#room) {
      this.#overflowed++;
      return this.overflowLabels as L;
    }
    this.#admitted.add(key);
    this.#used += this.#costPerLabelSet;
    return labels;
  }

  /** Series used by admitted label sets (the overflow series not included). */
  get used(): number {
    return this.#used;
  }

  /** Distinct label sets sent to the overflow series so far. */
  get overflowed(): number {
    return this.#overflowed;
  }
}

/**
 * What one recording site already admitted — a bound series, or a label object — found by
 * up to four bounded keys (e.g. method, origin, status, error type) with `Map` lookups only:
 * no key string and no label object is built per observation. Keys must come from a bounded
 * set (normalized values, configured origins), so the cache stays as small as the vocabulary.
 */
export class LabelCache<V> {
  readonly #root = new Map<unknown, Map<unknown, Map<unknown, Map<unknown, V>>>>();

  constructor(
    private readonly cap: SeriesCap,
    /** What to keep for an admitted label set (e.g. the family's series bound to it). */
    private readonly bind: (labels: Labels) => V,
  ) {}

  get(a: unknown, b?: unknown, c?: unknown, d?: unknown): V | undefined {
    return this.#root.get(a)?.get(b)?.get(c)?.get(d);
  }

  /** Admit a new label set under the family's cap and remember what to record it as. */
  admit(labels: Labels, a: unknown, b?: unknown, c?: unknown, d?: unknown): V {
    const value = this.bind(this.cap.admit(labels));
    let l1 = this.#root.get(a);
    if (!l1) {
      l1 = new Map();
      this.#root.set(a, l1);
    }
    let l2 = l1.get(b);
    if (!l2) {
      l2 = new Map();
      l1.set(b, l2);
    }
    let l3 = l2.get(c);
    if (!l3) {
      l3 = new Map();
      l2.set(c, l3);
    }
    l3.set(d, value);
    return value;
  }
}

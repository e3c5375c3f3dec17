// The "Steadfast fleet" dashboard (docs/deploying.md), as code. `generate.ts` writes it to
// dashboards/steadfast-fleet.json; a test fails when the committed JSON drifts.
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMapping,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import {
  PanelBuilder as HeatmapPanel,
  YAxisConfigBuilder,
} from '@grafana/grafana-foundation-sdk/heatmap';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { type KnownMetricName, metric } from './metrics.js';

export const DASHBOARD_UID = 'steadfast-fleet';
export const DASHBOARD_FILE = 'steadfast-fleet.json';

/** Every panel and query points at the datasource variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

const R = '[$__rate_interval]';
/** Worker-scoped, client-scoped and credential-scoped label matchers. */
const W = 'job=~"$job",instance=~"$instance"';
const S = `${W},client=~"$client"`;
const C = `${W},credential=~"$credential"`;

/** `name{matchers}` with a name checked against the metric contract at compile time. */
function sel(name: KnownMetricName, matchers: string, suffix = ''): string {
  return `${metric(name)}${suffix}{${matchers}}`;
}

interface Target {
  readonly expr: string;
  readonly legend: string;
  readonly exemplar?: boolean;
  readonly format?: PromQueryFormat;
}

function target(t: Target, refId: string): DataqueryBuilder {
  const b = new DataqueryBuilder()
    .datasource(DATASOURCE)
    .refId(refId)
    .expr(t.expr)
    .legendFormat(t.legend)
    .range();
  if (t.exemplar === true) b.exemplar(true);
  if (t.format !== undefined) b.format(t.format);
  return b;
}

type AnyPanel = TimeseriesPanel | StatPanel | StateTimelinePanel | HeatmapPanel;

interface Common {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly targets: readonly Target[];
  readonly width?: number;
  readonly height?: number;
}

let nextId = 1;

function finish<P extends AnyPanel>(p: P, c: Common): P {
  p.id(nextId++)
    .title(c.title)
    .description(c.description)
    .unit(c.unit)
    .datasource(DATASOURCE)
    .span(c.width ?? 8)
    .height(c.height ?? 8);
  c.targets.forEach((t, i) => {
    p.withTarget(target(t, String.fromCharCode(65 + i)));
  });
  return p;
}

const legend = new common.VizLegendOptionsBuilder()
  .showLegend(true)
  .displayMode(common.LegendDisplayMode.List)
  .placement(common.LegendPlacement.Bottom);
const tooltip = new common.VizTooltipOptionsBuilder()
  .mode(common.TooltipDisplayMode.Multi)
  .sort(common.SortOrder.Descending);

function timeseries(
  c: Common & {
    readonly stacked?: boolean;
    readonly bars?: boolean;
    readonly min?: number;
    readonly max?: number;
    readonly thresholdLine?: number;
  },
): TimeseriesPanel {
  const p = finish(new TimeseriesPanel(), c).legend(legend).tooltip(tooltip).fillOpacity(10);
  if (c.stacked === true) {
    p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  }
  if (c.bars === true) p.drawStyle(common.GraphDrawStyle.Bars).fillOpacity(60);
  if (c.min !== undefined) p.min(c.min);
  if (c.max !== undefined) p.max(c.max);
  if (c.thresholdLine !== undefined) {
    p.thresholds(
      new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
        { value: null, color: 'green' },
        { value: c.thresholdLine, color: 'red' },
      ]),
    ).thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
    );
  }
  return p;
}

function stat(
  c: Common & {
    readonly steps?: { value: number | null; color: string }[];
    readonly decimals?: number;
  },
): StatPanel {
  const p = finish(new StatPanel(), { width: 6, height: 5, ...c })
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (c.steps !== undefined) {
    p.thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(c.steps));
  }
  if (c.decimals !== undefined) p.decimals(c.decimals);
  return p;
}

function stateTimeline(c: Common & { readonly mappings: ValueMapping[] }): StateTimelinePanel {
  return finish(new StateTimelinePanel(), c)
    .mappings(c.mappings)
    .showValue(common.VisibilityMode.Never)
    .mergeValues(true)
    .legend(legend);
}

function valueMap(
  entries: Record<string, { text: string; color: string; index: number }>,
): ValueMapping {
  return { type: MappingType.ValueToText, options: entries };
}

// ---------------------------------------------------------------------------------------
// Rows

function overviewRow(): AnyPanel[] {
  return [
    stat({
      title: 'Success ratio',
      description:
        'Share of logical calls that succeeded (with or without retries) among all calls, including rejected ones and those a fallback answered (kind fallback: not fresh from the downstream). A call is one `fetch()` through the SDK, whatever the number of wire attempts.',
      unit: 'percentunit',
      decimals: 2,
      steps: [
        { value: null, color: 'red' },
        { value: 0.95, color: 'orange' },
        { value: 0.99, color: 'green' },
      ],
      targets: [
        {
          expr: `sum(rate(${sel('steadfast_calls_total', `${S},kind=~"successful_.*"`)}${R})) / sum(rate(${sel('steadfast_calls_total', S)}${R}))`,
          legend: 'success ratio',
        },
      ],
    }),
    stat({
      title: 'Attempts per call',
      description:
        'Retry amplification: wire attempts divided by logical calls. 1.0 means no re-sends; a retry storm shows here first.',
      unit: 'short',
      decimals: 2,
      steps: [
        { value: null, color: 'green' },
        { value: 1.2, color: 'orange' },
        { value: 2, color: 'red' },
      ],
      targets: [
        {
          expr: `sum(rate(${sel('http_client_request_duration_seconds', S, '_count')}${R})) / sum(rate(${sel('steadfast_call_duration_seconds', S, '_count')}${R}))`,
          legend: 'attempts per call',
        },
      ],
    }),
    stat({
      title: 'Open breakers',
      description:
        'Circuit breakers currently open, counted per worker and origin (each worker has its own breaker per downstream origin).',
      unit: 'short',
      steps: [
        { value: null, color: 'green' },
        { value: 1, color: 'red' },
      ],
      targets: [
        {
          expr: `sum(${sel('steadfast_circuit_breaker_state', `${S},state="open"`)})`,
          legend: 'open',
        },
      ],
    }),
    stat({
      title: 'Workers up',
      description:
        'Worker instances whose /metrics the last scrape reached (Prometheus `up`), out of the selected instances.',
      unit: 'short',
      steps: [
        { value: null, color: 'red' },
        { value: 1, color: 'green' },
      ],
      targets: [{ expr: `sum(${sel('up', W)})`, legend: 'up' }],
    }),
    timeseries({
      title: 'Calls/s by kind',
      description:
        'Logical calls per second by outcome kind: successful or failed, with or without retry, not_permitted (rejected before reaching the wire: limiter, breaker, budget), and fallback (answered by a stale response or the fallback handler, not by the downstream).',
      unit: 'reqps',
      stacked: true,
      width: 12,
      targets: [
        {
          expr: `sum by (kind) (rate(${sel('steadfast_calls_total', S)}${R}))`,
          legend: '{{kind}}',
        },
      ],
    }),
    timeseries({
      title: 'Call latency p50 / p95 / p99',
      description:
        'Latency of whole logical calls, backoff sleeps and re-sends included (steadfast_call_duration_seconds). Exemplars link to the trace of a slow call.',
      unit: 's',
      width: 12,
      targets: [0.5, 0.95, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le) (rate(${sel('steadfast_call_duration_seconds', S, '_bucket')}${R})))`,
        legend: `p${Math.round(q * 100)}`,
        exemplar: true,
      })),
    }),
  ];
}

function wireRow(): AnyPanel[] {
  return [
    timeseries({
      title: 'Attempts/s by status code',
      description:
        'Wire attempts per second by HTTP status code (http_client_request_duration_seconds_count). Attempts that got no response (transport errors, timeouts) have no status code.',
      unit: 'reqps',
      stacked: true,
      width: 6,
      targets: [
        {
          expr: `sum by (http_response_status_code) (rate(${sel('http_client_request_duration_seconds', S, '_count')}${R}))`,
          legend: '{{http_response_status_code}}',
        },
      ],
    }),
    timeseries({
      title: 'Failed attempts/s by error type',
      description:
        'Failed wire attempts per second by error.type: the status code ("503", "429", "401"), a transport error code (ECONNRESET, ECONNREFUSED, UND_ERR_SOCKET), timeout, or _OTHER. Hedged attempts cancelled because another attempt answered first (error_type cancelled) are no failures and are left out.',
      unit: 'reqps',
      stacked: true,
      width: 6,
      targets: [
        {
          expr: `sum by (error_type) (rate(${sel('http_client_request_duration_seconds', `${S},error_type!~"|cancelled"`, '_count')}${R}))`,
          legend: '{{error_type}}',
        },
      ],
    }),
    timeseries({
      title: 'Attempt latency p99 by origin',
      description:
        'p99 latency of single wire attempts per downstream origin (server_address). Exemplars are on: click a dot to open the trace of that attempt in the trace backend.',
      unit: 's',
      width: 6,
      targets: [
        {
          expr: `histogram_quantile(0.99, sum by (le, server_address) (rate(${sel('http_client_request_duration_seconds', S, '_bucket')}${R})))`,
          legend: '{{server_address}}',
          exemplar: true,
        },
      ],
    }),
    finish(new HeatmapPanel(), {
      title: 'Attempt latency heatmap',
      description:
        'Distribution of wire-attempt latency over time, from the histogram buckets (count of attempts per bucket and interval).',
      unit: 's',
      width: 6,
      targets: [
        {
          expr: `sum by (le) (increase(${sel('http_client_request_duration_seconds', S, '_bucket')}${R}))`,
          legend: '{{le}}',
          format: PromQueryFormat.Heatmap,
        },
      ],
    })
      .calculate(false)
      .yAxis(new YAxisConfigBuilder().unit('s'))
      .showValue(common.VisibilityMode.Never),
  ];
}

function retriesRow(): AnyPanel[] {
  return [
    timeseries({
      title: 'Retries/s by reason',
      description:
        'Re-sends per second by the error.type that triggered them. "401" is the re-authorization re-send (new token, zero delay); the others are transient retries with backoff.',
      unit: 'reqps',
      stacked: true,
      width: 8,
      targets: [
        {
          expr: `sum by (reason) (rate(${sel('steadfast_retries_total', S)}${R}))`,
          legend: '{{reason}}',
        },
      ],
    }),
    timeseries({
      title: 'Retry ratio',
      description:
        'Re-sends per logical call, per client. The dashed line is the SteadfastRetryRatioHigh alert threshold (0.2).',
      unit: 'percentunit',
      width: 8,
      min: 0,
      thresholdLine: 0.2,
      targets: [
        {
          expr: `sum by (client) (rate(${sel('steadfast_retries_total', S)}${R})) / sum by (client) (rate(${sel('steadfast_calls_total', S)}${R}))`,
          legend: '{{client}}',
        },
      ],
    }),
    timeseries({
      title: 'Time spent waiting before re-sends',
      description:
        'Seconds per second spent sleeping before re-sends, split by where the delay came from: the SDK backoff, or a Retry-After header sent by the server.',
      unit: 's',
      stacked: true,
      width: 8,
      targets: [
        {
          expr: `sum by (source) (rate(${sel('steadfast_retry_delay_seconds_total', S)}${R}))`,
          legend: '{{source}}',
        },
      ],
    }),
    timeseries({
      title: 'Rejected calls and warnings',
      description:
        'Calls rejected before reaching the wire (not_permitted: concurrency limiter, retry budget, open breaker) per client, and resilience events of warning or error severity by strategy and event.',
      unit: 'reqps',
      width: 12,
      targets: [
        {
          expr: `sum by (client) (rate(${sel('steadfast_calls_total', `${S},kind="not_permitted"`)}${R}))`,
          legend: 'not permitted {{client}}',
        },
        {
          expr: `sum by (strategy, event) (rate(${sel('steadfast_events_total', `${S},severity=~"warning|error"`)}${R}))`,
          legend: '{{strategy}} {{event}}',
        },
      ],
    }),
    timeseries({
      title: 'Concurrency limiter: in flight vs limit',
      description:
        'Calls in flight on the busiest instance, per client, against the concurrency limit each instance enforces (the bulkhead). At the limit, new calls are rejected at once (not_permitted) and never retried.',
      unit: 'short',
      width: 12,
      min: 0,
      targets: [
        {
          expr: `max by (client) (${sel('steadfast_concurrency_inflight_calls', S)})`,
          legend: 'in flight {{client}} (busiest instance)',
        },
        {
          expr: `max by (client) (${sel('steadfast_concurrency_limit', S)})`,
          legend: 'limit {{client}}',
        },
      ],
    }),
  ];
}

function breakersRow(): AnyPanel[] {
  const state = (s: string) => sel('steadfast_circuit_breaker_state', `${S},state="${s}"`);
  return [
    stateTimeline({
      title: 'Breaker state by origin',
      description:
        'Worst breaker state per downstream origin across the selected workers: closed (green), half_open (amber), open (red).',
      unit: 'short',
      width: 8,
      mappings: [
        valueMap({
          '0': { text: 'closed', color: 'green', index: 0 },
          '1': { text: 'half_open', color: 'orange', index: 1 },
          '2': { text: 'open', color: 'red', index: 2 },
        }),
      ],
      targets: [
        {
          expr: `max by (server_address) (2 * ${state('open')} + ignoring (state) ${state('half_open')})`,
          legend: '{{server_address}}',
        },
      ],
    }),
    timeseries({
      title: 'Breaker transitions',
      description:
        'Breaker state changes per interval, by origin and target state; catches flaps shorter than the scrape interval.',
      unit: 'short',
      bars: true,
      width: 8,
      targets: [
        {
          expr: `sum by (server_address, to_state) (increase(${sel('steadfast_circuit_breaker_transitions_total', S)}${R}))`,
          legend: '{{server_address}} → {{to_state}}',
        },
      ],
    }),
    timeseries({
      title: 'Short-circuited attempts/s',
      description:
        'Attempts an open breaker refused without touching the network, per origin (steadfast_circuit_breaker_not_permitted_calls_total).',
      unit: 'reqps',
      width: 8,
      targets: [
        {
          expr: `sum by (server_address) (rate(${sel('steadfast_circuit_breaker_not_permitted_calls_total', S)}${R}))`,
          legend: '{{server_address}}',
        },
      ],
    }),
  ];
}

function rateLimitsRow(): AnyPanel[] {
  const attempts = (matchers: string) =>
    sel('http_client_request_duration_seconds', matchers, '_count');
  return [
    timeseries({
      title: '429 answers/s by origin',
      description:
        'Wire attempts per second the downstream answered 429 Too Many Requests, per origin (http_client_request_duration_seconds_count). Every re-send counts, as the server counts it.',
      unit: 'reqps',
      width: 6,
      targets: [
        {
          expr: `sum by (server_address) (rate(${attempts(`${S},http_response_status_code="429"`)}${R}))`,
          legend: '{{server_address}}',
        },
      ],
    }),
    timeseries({
      title: 'Share of attempts answered 429',
      description:
        'Attempts answered 429 among all wire attempts, per client. The dashed line is the SteadfastRateLimitedHigh alert threshold (10 %): the fleet sends more than the downstream accepts.',
      unit: 'percentunit',
      width: 6,
      min: 0,
      thresholdLine: 0.1,
      targets: [
        {
          expr: `sum by (client) (rate(${attempts(`${S},http_response_status_code="429"`)}${R})) / sum by (client) (rate(${attempts(S)}${R}))`,
          legend: '{{client}}',
        },
      ],
    }),
    timeseries({
      title: 'Time paused by server cooldowns',
      description:
        'Scopes (origins, by default) the downstream paused with Retry-After or RateLimit headers, on the busiest instance: paused now, and the average over the interval from the pauses that ended (seconds paused per second; 1 = one scope paused all the time).',
      unit: 'short',
      width: 6,
      min: 0,
      targets: [
        {
          expr: `max by (client) (${sel('steadfast_cooldown_active_scopes', S)})`,
          legend: 'paused now {{client}}',
        },
        {
          expr: `max by (client) (rate(${sel('steadfast_cooldown_paused_seconds_total', S)}${R}))`,
          legend: 'average paused {{client}}',
        },
      ],
    }),
    timeseries({
      title: 'Cooldowns started by source',
      description:
        'Server-driven pauses started per interval, summed over instances, by what started them: retry_after, ratelimit or x_ratelimit headers this instance read, or fleet (another instance paused the scope for everyone).',
      unit: 'short',
      bars: true,
      width: 6,
      targets: [
        {
          expr: `sum by (source) (increase(${sel('steadfast_cooldown_transitions_total', `${S},change="started"`)}${R}))`,
          legend: '{{source}}',
        },
      ],
    }),
    timeseries({
      title: 'Fleet quota utilisation',
      description:
        'Permits the fleet quota granted per second, summed over the selected instances, divided by the quota (steadfast_quota_limit_per_second). Near 100 % attempts queue for permits; the dashed line is the SteadfastQuotaSaturated alert threshold (90 %).',
      unit: 'percentunit',
      width: 8,
      min: 0,
      thresholdLine: 0.9,
      targets: [
        {
          expr: `sum by (client) (rate(${sel('steadfast_rate_limit_permits_total', `${S},limiter="fleet_quota"`)}${R})) / max by (client) (${sel('steadfast_quota_limit_per_second', S)})`,
          legend: '{{client}}',
        },
      ],
    }),
    timeseries({
      title: 'Permit wait p50 / p99 by limiter',
      description:
        'How long wire attempts waited for their permit before being sent, per admission layer: rate_limiter, fleet_quota, or cooldown (attempts that met a server-driven pause).',
      unit: 's',
      width: 8,
      targets: [0.5, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le, limiter) (rate(${sel('steadfast_rate_limit_wait_seconds', S, '_bucket')}${R})))`,
        legend: `p${Math.round(q * 100)} {{limiter}}`,
      })),
    }),
    timeseries({
      title: 'Refused attempts/s by reason',
      description:
        'Wire attempts an admission layer refused a permit (not sent; the call fails with rate_limited), by layer and reason: max_wait, deadline, queue_full, weight_exceeds_capacity, closed.',
      unit: 'reqps',
      stacked: true,
      width: 8,
      targets: [
        {
          expr: `sum by (limiter, reason) (rate(${sel('steadfast_rate_limit_rejections_total', S)}${R}))`,
          legend: '{{limiter}} {{reason}}',
        },
      ],
    }),
    timeseries({
      title: 'Quota lease size p50 / p99',
      description:
        'Permits one lease from the shared quota store granted (GCRA in Redis). Larger leases mean fewer store commands per call; an instance holding a large lease makes the others wait.',
      unit: 'short',
      width: 8,
      targets: [0.5, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le, client) (rate(${sel('steadfast_quota_lease_size', S, '_bucket')}${R})))`,
        legend: `p${Math.round(q * 100)} {{client}}`,
      })),
    }),
    timeseries({
      title: 'Quota store commands per call',
      description:
        'Leases asked of the shared quota store per logical call, by result: ok, denied (no room yet) and error (store down or slow). Far below 1 when leases batch permits.',
      unit: 'short',
      width: 8,
      min: 0,
      targets: [
        {
          expr: `sum by (client, result) (rate(${sel('steadfast_quota_store_commands_total', S)}${R})) / ignoring (result) group_left sum by (client) (rate(${sel('steadfast_calls_total', S)}${R}))`,
          legend: '{{client}} {{result}}',
        },
      ],
    }),
    stateTimeline({
      title: 'Fleet quota on local share per instance',
      description:
        'Whether each instance takes its fleet-quota permits from the shared store (fleet) or, because the store failed, from its local share of the quota (limit divided by the last fleet size it saw).',
      unit: 'short',
      width: 8,
      mappings: [
        valueMap({
          '0': { text: 'fleet', color: 'green', index: 0 },
          '1': { text: 'local share', color: 'orange', index: 1 },
        }),
      ],
      targets: [
        {
          expr: `max by (instance) (${sel('steadfast_quota_fallback_active', S)})`,
          legend: '{{instance}}',
        },
      ],
    }),
  ];
}

function toolboxRow(): AnyPanel[] {
  const calls = `sum by (client) (rate(${sel('steadfast_calls_total', S)}${R}))`;
  const throttle = (
    name: 'steadfast_rate_limit_permits_total' | 'steadfast_rate_limit_rejections_total',
  ) => `sum by (client) (rate(${sel(name, `${S},limiter="adaptive_throttle"`)}${R}))`;
  return [
    timeseries({
      title: 'Hedges sent and skipped/s',
      description:
        'Hedged attempts sent per second while earlier attempts of the same call were still out, by trigger (delay: no answer within the hedge delay; failure: an earlier attempt failed), and hedges the hedging budget refused (skipped, budget_exhausted).',
      unit: 'reqps',
      width: 8,
      targets: [
        {
          expr: `sum by (trigger) (rate(${sel('steadfast_hedges_sent_total', S)}${R}))`,
          legend: 'sent {{trigger}}',
        },
        {
          expr: `sum by (reason) (rate(${sel('steadfast_hedges_skipped_total', S)}${R}))`,
          legend: 'skipped {{reason}}',
        },
      ],
    }),
    timeseries({
      title: 'Hedges per call (budget use)',
      description:
        'Extra attempts hedging adds: hedges sent per logical call, and the hedged attempts cancelled because another answered first. The hedging budget keeps hedges to a few percent of calls.',
      unit: 'percentunit',
      width: 8,
      min: 0,
      targets: [
        {
          expr: `sum by (client) (rate(${sel('steadfast_hedges_sent_total', S)}${R})) / ${calls}`,
          legend: 'sent {{client}}',
        },
        {
          expr: `sum by (client) (rate(${sel('steadfast_hedges_cancelled_total', S)}${R})) / ${calls}`,
          legend: 'cancelled {{client}}',
        },
      ],
    }),
    timeseries({
      title: 'Share of hedges the budget refused',
      description:
        'Hedges the hedging budget refused among all hedges the layer wanted to send (sent + skipped), per client. The dashed line is the SteadfastHedgeBudgetExhausted alert threshold (50 %): the tail is no longer hedged.',
      unit: 'percentunit',
      width: 8,
      min: 0,
      thresholdLine: 0.5,
      targets: [
        {
          expr: `sum by (client) (rate(${sel('steadfast_hedges_skipped_total', S)}${R})) / (sum by (client) (rate(${sel('steadfast_hedges_sent_total', S)}${R})) + sum by (client) (rate(${sel('steadfast_hedges_skipped_total', S)}${R})))`,
          legend: '{{client}}',
        },
      ],
    }),
    timeseries({
      title: 'Hedged calls by winner',
      description:
        'Calls that sent at least one hedge, per second, by the attempt whose outcome they took (primary: the first attempt; hedge: a later one; none: no acceptable outcome) and its endpoint (server_address).',
      unit: 'reqps',
      stacked: true,
      width: 8,
      targets: [
        {
          expr: `sum by (winner, server_address) (rate(${sel('steadfast_hedged_calls_total', S)}${R}))`,
          legend: '{{winner}} {{server_address}}',
        },
      ],
    }),
    timeseries({
      title: 'Fallbacks/s by kind',
      description:
        'Calls whose failure the fallback replaced (served=true), by kind: stale (the last good response for the cache key) or handler (the fallback function); and fallbacks that had nothing to serve (served=false: no stale entry fresh enough, or the handler returned nothing), where the failure stands.',
      unit: 'reqps',
      stacked: true,
      width: 8,
      targets: [
        {
          expr: `sum by (kind, served) (rate(${sel('steadfast_fallbacks_total', S)}${R}))`,
          legend: '{{kind}} served={{served}}',
        },
      ],
    }),
    timeseries({
      title: 'Share of calls served stale',
      description:
        'Calls answered with a stale response among all logical calls, per client: what callers get is not fresh. The dashed line is the SteadfastServingStale alert threshold (20 %).',
      unit: 'percentunit',
      width: 8,
      min: 0,
      thresholdLine: 0.2,
      targets: [
        {
          expr: `sum by (client) (rate(${sel('steadfast_fallbacks_total', `${S},kind="stale",served="true"`)}${R})) / ${calls}`,
          legend: '{{client}}',
        },
      ],
    }),
    timeseries({
      title: 'Age of stale responses served p50 / p99',
      description:
        'How old the stale responses the fallback served were (steadfast_fallback_stale_age_seconds): the time since the response was fresh from the downstream.',
      unit: 's',
      width: 8,
      targets: [0.5, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le, client) (rate(${sel('steadfast_fallback_stale_age_seconds', S, '_bucket')}${R})))`,
        legend: `p${Math.round(q * 100)} {{client}}`,
      })),
    }),
    timeseries({
      title: 'Adaptive limit vs in flight by origin',
      description:
        'The adaptive concurrency limit of each origin (lowest instance) against the calls in flight to it (busiest instance), and the configured minimum. A limit that sits at its minimum means the origin keeps dropping or slowing down (SteadfastAdaptiveLimitAtMinimum).',
      unit: 'short',
      width: 8,
      min: 0,
      targets: [
        {
          expr: `min by (server_address) (${sel('steadfast_adaptive_concurrency_limit', S)})`,
          legend: 'limit {{server_address}}',
        },
        {
          expr: `max by (server_address) (${sel('steadfast_adaptive_concurrency_inflight_calls', S)})`,
          legend: 'in flight {{server_address}}',
        },
        {
          expr: `min by (client) (${sel('steadfast_adaptive_concurrency_limit_bound', `${S},bound="min"`)})`,
          legend: 'minimum {{client}}',
        },
      ],
    }),
    timeseries({
      title: 'Adaptive limit changes',
      description:
        'Moves of the adaptive concurrency limit per interval, summed over instances, by origin and direction: increases while the origin keeps up, decreases on drops (429, 503, 504, timeouts) or growing latency.',
      unit: 'short',
      bars: true,
      width: 8,
      targets: [
        {
          expr: `sum by (server_address, direction) (increase(${sel('steadfast_adaptive_concurrency_limit_changes_total', S)}${R}))`,
          legend: '{{server_address}} {{direction}}',
        },
      ],
    }),
    timeseries({
      title: 'Adaptive throttle: attempts refused locally',
      description:
        'Wire attempts the client-side adaptive throttle refused before sending them (RateLimitedError, reason throttled), among the attempts it saw, per client; and the rejection probability it applies now per origin (highest instance). The dashed line is the SteadfastThrottleRejectingHigh alert threshold (25 %).',
      unit: 'percentunit',
      width: 24,
      min: 0,
      max: 1,
      thresholdLine: 0.25,
      targets: [
        {
          expr: `${throttle('steadfast_rate_limit_rejections_total')} / (${throttle('steadfast_rate_limit_permits_total')} + ${throttle('steadfast_rate_limit_rejections_total')})`,
          legend: 'refused {{client}}',
        },
        {
          expr: `max by (server_address) (${sel('steadfast_adaptive_throttle_rejection_probability', S)})`,
          legend: 'probability {{server_address}}',
        },
      ],
    }),
  ];
}

function tokensRow(): AnyPanel[] {
  return [
    timeseries({
      title: 'Token-endpoint requests across the fleet',
      description:
        'Token-endpoint requests per interval summed over every instance: with a shared store this is one per rotation for the whole fleet, not one per worker.',
      unit: 'short',
      bars: true,
      width: 8,
      targets: [
        {
          expr: `sum by (credential, result) (increase(${sel('steadfast_token_fetches_total', C)}${R}))`,
          legend: '{{credential}} {{result}}',
        },
      ],
    }),
    timeseries({
      title: 'Token fetch latency p50 / p99',
      description: 'Latency of token-endpoint requests (steadfast_token_fetch_duration_seconds).',
      unit: 's',
      width: 8,
      targets: [0.5, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le, credential) (rate(${sel('steadfast_token_fetch_duration_seconds', C, '_bucket')}${R})))`,
        legend: `p${Math.round(q * 100)} {{credential}}`,
      })),
    }),
    timeseries({
      title: 'Token cache lookups by level and result',
      description:
        'Where tokens come from: the in-process cache (local) or the shared store, and whether the lookup hit, missed, or joined a fetch already in flight (coalesced).',
      unit: 'ops',
      stacked: true,
      width: 8,
      targets: [
        {
          expr: `sum by (level, result) (rate(${sel('steadfast_token_cache_lookups_total', C)}${R}))`,
          legend: '{{level}} {{result}}',
        },
      ],
    }),
    timeseries({
      title: '401s absorbed without a fetch',
      description:
        'How 401s were handled per interval: newer_present = a newer token was already there, so no token-endpoint call; deleted = the rejected token was evicted and a fetch follows; absent = nothing to evict.',
      unit: 'short',
      bars: true,
      width: 8,
      targets: [
        {
          expr: `sum by (result) (increase(${sel('steadfast_token_invalidations_total', C)}${R}))`,
          legend: '{{result}}',
        },
      ],
    }),
    timeseries({
      title: 'Time to token expiry',
      description:
        'Seconds until the token each instance uses expires. A healthy fleet shows a sawtooth that is refreshed well before 0; the red line is 60 s.',
      unit: 's',
      width: 8,
      thresholdLine: 60,
      targets: [
        {
          expr: `min by (instance, credential) (${sel('steadfast_token_expiry_timestamp_seconds', C)}) - time()`,
          legend: '{{instance}} {{credential}}',
        },
      ],
    }),
    stateTimeline({
      title: 'Token store up per instance',
      description:
        'Whether each instance reaches the shared token store (Redis). Down means the instance fetches and caches tokens alone.',
      unit: 'short',
      width: 8,
      mappings: [
        valueMap({
          '0': { text: 'down', color: 'red', index: 0 },
          '1': { text: 'up', color: 'green', index: 1 },
        }),
      ],
      targets: [
        {
          expr: `min by (instance) (${sel('steadfast_token_store_up', C)})`,
          legend: '{{instance}}',
        },
      ],
    }),
  ];
}

function workersRow(): AnyPanel[] {
  return [
    timeseries({
      title: 'Event-loop lag p99',
      description:
        'Event-loop lag, 99th percentile, per worker (prom-client default metric). High lag delays every timer, including timeouts and backoff.',
      unit: 's',
      targets: [
        {
          expr: `max by (instance) (${sel('nodejs_eventloop_lag_p99_seconds', W)})`,
          legend: '{{instance}}',
        },
      ],
    }),
    timeseries({
      title: 'Memory',
      description: 'Resident set size and V8 heap in use per worker.',
      unit: 'bytes',
      targets: [
        {
          expr: `max by (instance) (${sel('process_resident_memory_bytes', W)})`,
          legend: 'rss {{instance}}',
        },
        {
          expr: `max by (instance) (${sel('nodejs_heap_size_used_bytes', W)})`,
          legend: 'heap {{instance}}',
        },
      ],
    }),
    timeseries({
      title: 'Series per worker',
      description:
        'Samples each worker exposes per scrape: the cardinality guard. The budget is about 2,000 series per worker (red line).',
      unit: 'short',
      thresholdLine: 2000,
      targets: [
        {
          expr: `max by (instance) (${sel('scrape_samples_scraped', W)})`,
          legend: '{{instance}}',
        },
      ],
    }),
  ];
}

export const ROWS: readonly { title: string; panels: () => AnyPanel[] }[] = [
  { title: 'Overview', panels: overviewRow },
  { title: 'Wire attempts', panels: wireRow },
  { title: 'Retries', panels: retriesRow },
  { title: 'Circuit breakers', panels: breakersRow },
  { title: 'Rate limits & quotas', panels: rateLimitsRow },
  { title: 'Hedging, fallback & adaptive concurrency', panels: toolboxRow },
  { title: 'Tokens across the fleet', panels: tokensRow },
  { title: 'Workers', panels: workersRow },
];

/**
 * A multi-value query variable with "All". `allValue` `.*` keeps queries short, but only
 * where the label cannot match series of other jobs: "All" jobs must stay the list of
 * worker jobs (Grafana then sends `(job1|job2)`), or `up`, memory and series-count panels
 * would include Prometheus, the collector and Tempo.
 */
function queryVariable(
  name: string,
  label: string,
  query: string,
  allValue: string | undefined,
): QueryVariableBuilder {
  const v = new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({ query, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .current({ text: 'All', value: '$__all' });
  if (allValue !== undefined) v.allValue(allValue);
  return v;
}

/** The dashboard variables, in order; their queries use Grafana's `label_values()`. */
export const VARIABLE_QUERIES = {
  job: `label_values(${metric('steadfast_build_info')}, job)`,
  instance: `label_values(${metric('steadfast_build_info')}{job=~"$job"}, instance)`,
  client: `label_values(${metric('steadfast_calls_total')}{${W}}, client)`,
  credential: `label_values(${metric('steadfast_token_cache_lookups_total')}{${W}}, credential)`,
} as const;

export function buildFleetDashboard(): Dashboard {
  nextId = 1;
  const b = new DashboardBuilder('Steadfast fleet')
    .uid(DASHBOARD_UID)
    .description(
      'Resilient OAuth2 HTTP calls across a fleet of Steadfast workers: outcomes, wire attempts, retries, circuit breakers, rate limits and quotas, hedging, fallback and adaptive concurrency, shared tokens and worker health. Generated from dashboards/src/fleet.ts; do not edit by hand.',
    )
    .tags(['steadfast', 'resilience', 'oauth2'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-30m', to: 'now' })
    .refresh('10s')
    .timezone('browser')
    .withVariable(
      new DatasourceVariableBuilder('datasource')
        .label('Data source')
        .type('prometheus')
        .current({ text: 'Prometheus', value: 'prometheus' }),
    )
    .withVariable(queryVariable('job', 'Job', VARIABLE_QUERIES.job, undefined))
    .withVariable(queryVariable('instance', 'Instance', VARIABLE_QUERIES.instance, '.*'))
    .withVariable(queryVariable('client', 'Client', VARIABLE_QUERIES.client, '.*'))
    .withVariable(queryVariable('credential', 'Credential', VARIABLE_QUERIES.credential, '.*'));
  let rowId = 1000;
  for (const row of ROWS) {
    b.withRow(new RowBuilder(row.title).id(rowId++).datasource(DATASOURCE));
    for (const panel of row.panels()) b.withPanel(panel);
  }
  return b.build();
}

import type { LoadtestReport } from '../run.js';
import type { StrategyEventKind } from '../types.js';
import type { RunSummary, StrategyName } from './summary.js';

const ms = (v: number) =>
  v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`;
const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const top = (counts: Readonly<Record<string, number>>, limit = 4) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ') || '-';

type Row = readonly [string, (s: RunSummary) => string];

/** The rows every comparison has: a label and how to show it for one run. */
export const ROWS: readonly Row[] = [
  ['calls', (s) => String(s.calls)],
  ['calls ok / failed', (s) => `${s.succeeded} / ${s.calls - s.succeeded}`],
  ['success ratio', (s) => pct(s.successRatio)],
  ['attempts', (s) => String(s.attempts)],
  ['attempts per call', (s) => s.attemptsPerCall.toFixed(2)],
  ['retries', (s) => String(s.retries)],
  ['retries by reason', (s) => top(s.retriesByReason)],
  ['time waiting (sum)', (s) => ms(Object.values(s.waitingMs).reduce((a, b) => a + b, 0))],
  ['breaker transitions', (s) => String(s.breakerTransitions.length)],
  [
    'token-endpoint requests',
    (s) =>
      s.tokenRequests.idp !== undefined
        ? String(s.tokenRequests.idp)
        : `${s.tokenRequests.client} (client)`,
  ],
  ['latency p50', (s) => ms(s.latencyMs.p50)],
  ['latency p95', (s) => ms(s.latencyMs.p95)],
  ['latency p99', (s) => ms(s.latencyMs.p99)],
  ['latency max', (s) => ms(s.latencyMs.max)],
  ['throughput (ok/s)', (s) => s.throughput.successesPerSecond.toFixed(1)],
  [
    'API accepted (req/s)',
    (s) =>
      s.api
        ? `${(s.api.accepted / (Math.max(s.elapsedMs, 1) / 1000)).toFixed(1)}${s.api.quotaPerSecond ? ` (quota ${s.api.quotaPerSecond})` : ''}`
        : '-',
  ],
  ['API 429s answered', (s) => (s.api ? String(s.api.byStatus['429'] ?? 0) : '-')],
  [
    'failed calls by outcome',
    (s) =>
      top(
        Object.fromEntries(Object.entries(s.callOutcomes).filter(([k]) => !/^2\d\d$/.test(k))),
        3,
      ),
  ],
];

const has = (s: RunSummary, strategy: StrategyName) => s.strategies.includes(strategy);
const events = (s: RunSummary, ...kinds: StrategyEventKind[]) =>
  kinds.reduce((sum, kind) => sum + s.strategyEvents[kind], 0);

/**
 * The rows of each strategy, shown when a run has it (or its events): what it did, read from
 * the client's events; `-` in the columns of the runs without it, unless the row is `every`
 * run's (a figure any policy has, that this strategy is about).
 */
const STRATEGY_ROWS: readonly {
  readonly applies: (s: RunSummary) => boolean;
  readonly rows: readonly (readonly [...Row, 'every'?])[];
}[] = [
  {
    applies: (s) => has(s, 'hedging') || events(s, 'hedge', 'hedge_skipped', 'hedged_call') > 0,
    rows: [
      ['hedges sent / won', (s) => `${events(s, 'hedge')} / ${events(s, 'hedge_won')}`],
      [
        'hedges per call (budget)',
        (s) =>
          `${pct(s.calls ? events(s, 'hedge') / s.calls : 0)}${events(s, 'hedge_skipped') ? ` (${events(s, 'hedge_skipped')} refused by the budget)` : ''}`,
      ],
    ],
  },
  {
    applies: (s) => has(s, 'fallback') || events(s, 'stale', 'handler', 'fallback_missed') > 0,
    rows: [
      [
        'fallbacks served: stale / handler',
        (s) =>
          `${events(s, 'stale')} / ${events(s, 'handler')}${events(s, 'fallback_missed') ? ` (${events(s, 'fallback_missed')} had none)` : ''}`,
      ],
    ],
  },
  {
    applies: (s) => has(s, 'adaptive') || s.adaptiveLimit !== undefined,
    rows: [
      [
        'adaptive limit: final (min–max)',
        (s) =>
          s.adaptiveLimit
            ? `${s.adaptiveLimit.final} (${s.adaptiveLimit.min}–${s.adaptiveLimit.max})`
            : 'unchanged',
      ],
      [
        'ok-call latency p50 / p99',
        (s) => `${ms(s.okLatencyMs.p50)} / ${ms(s.okLatencyMs.p99)}`,
        'every',
      ],
    ],
  },
  {
    applies: (s) => has(s, 'throttle') || events(s, 'throttled') > 0,
    rows: [['attempts throttled in the client', (s) => String(events(s, 'throttled'))]],
  },
];

/** The demo API's rows of the newer profiles: shown when a run met them. */
const API_ROWS: readonly { readonly when: (s: RunSummary) => boolean; readonly row: Row }[] = [
  {
    when: (s) => (s.api?.slow ?? 0) > 0,
    row: ['API requests made slow', (s) => (s.api ? String(s.api.slow) : '-')],
  },
  {
    when: (s) => s.api?.capacity !== undefined,
    row: [
      'API most in service / queued',
      (s) => (s.api?.capacity ? `${s.api.capacity.peakBusy} / ${s.api.capacity.peakQueued}` : '-'),
    ],
  },
  {
    when: (s) => (s.api?.capacity?.refused ?? 0) > 0,
    row: [
      'API refused, overloaded',
      (s) => (s.api?.capacity ? String(s.api.capacity.refused) : '-'),
    ],
  },
];

/** The rows of a comparison: {@link ROWS}, then those of the strategies and profiles it has. */
export function rowsFor(runs: readonly RunSummary[]): Row[] {
  const rows = [...ROWS];
  for (const { applies, rows: own } of STRATEGY_ROWS) {
    if (!runs.some(applies)) continue;
    for (const [label, show, every] of own) {
      rows.push([label, (s) => (every || applies(s) ? show(s) : '-')]);
    }
  }
  for (const { when, row } of API_ROWS) if (runs.some(when)) rows.push(row);
  return rows;
}

/** The report as a plain-text table: one column per policy. */
export function terminalReport(report: LoadtestReport): string {
  const runs = report.runs.map((r) => r.summary);
  const header = ['', ...runs.map((s) => s.policy)];
  const body = rowsFor(runs).map(([label, show]) => [label, ...runs.map(show)]);
  const rows = [header, ...body];
  const widths = header.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ');
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  const notes: string[] = [];
  if (report.interrupted) notes.push('Interrupted (Ctrl-C): the figures cover what ran.');
  for (const s of runs) {
    if (s.skipped) notes.push(`${s.policy}: ${s.skipped} calls skipped (max in-flight reached).`);
    if (s.aborted) notes.push(`${s.policy}: ${s.aborted} calls cut short by the interruption.`);
  }
  return [line(header), rule, ...body.map(line), ...notes].join('\n');
}

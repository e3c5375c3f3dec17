import type { LoadtestReport } from '../run.js';
import type { RunSummary } from './summary.js';

const ms = (v: number) =>
  v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`;
const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const top = (counts: Readonly<Record<string, number>>, limit = 4) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ') || '-';

/** The rows of the comparison: a label and how to show it for one run. */
export const ROWS: readonly [string, (s: RunSummary) => string][] = [
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

/** The report as a plain-text table: one column per policy. */
export function terminalReport(report: LoadtestReport): string {
  const runs = report.runs.map((r) => r.summary);
  const header = ['', ...runs.map((s) => s.policy)];
  const body = ROWS.map(([label, show]) => [label, ...runs.map(show)]);
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

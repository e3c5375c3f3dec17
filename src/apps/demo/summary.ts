import type { FleetCounters } from './fleet-metrics.js';
import { percent, ratio } from './fleet-view.js';
import type { ChildExit } from './worker-process.js';

/** One phase as the summary reports it. */
export interface PhaseReport {
  readonly name: string;
  readonly counters: FleetCounters;
  readonly idpTokenRequests: number;
  readonly durationMs: number;
}

/** How each worker ended. */
export interface WorkerReport {
  readonly index: number;
  readonly pid: number | undefined;
  readonly metricsUrl: string | undefined;
  readonly exit: ChildExit;
}

/** What {@link runDemo} resolves. */
export interface DemoReport {
  /** True when every worker exited with code 0 and the run was not cut short by a failure. */
  readonly ok: boolean;
  readonly interrupted: boolean;
  readonly tokenSharing: string;
  readonly phases: readonly PhaseReport[];
  readonly total: FleetCounters;
  readonly idpTokenRequests: number;
  readonly apiByStatus: Readonly<Record<string, number>>;
  readonly workers: readonly WorkerReport[];
}

/** The end-of-run summary, per phase then in total. */
export function renderSummary(report: DemoReport): string {
  const header = [
    'phase',
    'seconds',
    'calls',
    'success',
    'attempts/call',
    'not permitted',
    'token fetches',
    'retries by reason',
  ];
  const rows = report.phases.map((phase) => [
    phase.name,
    String(Math.round(phase.durationMs / 1000)),
    String(Math.round(phase.counters.calls)),
    percent(phase.counters.succeeded, phase.counters.calls),
    ratio(phase.counters.attempts, phase.counters.calls),
    String(Math.round(phase.counters.notPermitted)),
    String(Math.round(phase.counters.tokenFetches)),
    Object.entries(phase.counters.retriesByReason)
      .map(([reason, count]) => `${reason}:${Math.round(count)}`)
      .join(' ') || '-',
  ]);
  rows.push([
    'total',
    String(Math.round(report.phases.reduce((sum, phase) => sum + phase.durationMs, 0) / 1000)),
    String(Math.round(report.total.calls)),
    percent(report.total.succeeded, report.total.calls),
    ratio(report.total.attempts, report.total.calls),
    String(Math.round(report.total.notPermitted)),
    String(Math.round(report.total.tokenFetches)),
    Object.entries(report.total.retriesByReason)
      .map(([reason, count]) => `${reason}:${Math.round(count)}`)
      .join(' ') || '-',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
  return [
    '',
    `summary${report.interrupted ? ' (interrupted)' : ''} — token sharing: ${report.tokenSharing}`,
    line(header),
    ...rows.map(line),
    '',
    `token fetches across the fleet: ${Math.round(report.total.tokenFetches)}; the IdP received ${report.idpTokenRequests} token requests`,
    `401s absorbed without a fetch: ${Math.round(report.total.tokenInvalidations.newer_present ?? 0)}`,
    `API responses: ${Object.entries(report.apiByStatus)
      .map(([status, count]) => `${status}:${count}`)
      .join(' ')}`,
    ...report.workers.map(
      (worker) =>
        `worker #${worker.index} pid ${worker.pid} ${worker.exit.code === 0 ? 'exited cleanly (0)' : `exited with code ${worker.exit.code}, signal ${worker.exit.signal}`}; metrics were at ${worker.metricsUrl ?? '-'}`,
    ),
    report.ok ? 'all workers exited cleanly' : 'NOT every worker exited cleanly',
    '',
  ].join('\n');
}

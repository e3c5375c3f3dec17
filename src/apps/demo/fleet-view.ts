import type { FleetCounters } from './fleet-metrics.js';

/** One worker as the view shows it. */
export interface WorkerRow {
  readonly index: number;
  readonly pid: number | undefined;
  readonly metricsUrl: string | undefined;
  readonly up: boolean;
  readonly calls: number;
  readonly tokenFetches: number;
  readonly breakers: Readonly<Record<string, string>>;
  readonly storeUp: number | undefined;
}

/** Everything one frame of the live view shows. */
export interface FleetFrame {
  readonly elapsedMs: number;
  readonly totalMs: number;
  readonly phase: {
    readonly name: string;
    readonly number: number;
    readonly count: number;
    readonly description: string;
  };
  readonly tokenSharing: string;
  /** Fleet counters over the last window, and the window length. */
  readonly window: FleetCounters;
  readonly windowMs: number;
  /** Fleet counters since the start. */
  readonly total: FleetCounters;
  readonly workers: readonly WorkerRow[];
  /** Token requests the IdP received (all clients). */
  readonly idpTokenRequests: number;
  /** The API's responses by status since the start. */
  readonly apiByStatus: Readonly<Record<string, number>>;
  readonly recentLog: readonly string[];
}

/** Success ratio as a percentage string, or `-` without calls. */
export function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

/** Attempts per call, or `-` without calls. */
export function ratio(part: number, whole: number): string {
  return whole > 0 ? (part / whole).toFixed(2) : '-';
}

function formatCounts(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).filter(([, value]) => value > 0);
  if (entries.length === 0) return 'none';
  return entries
    .sort((a, b) => b[1] - a[1])
    .map(([key, value]) => `${key}:${Math.round(value)}`)
    .join('  ');
}

/** Render one frame as lines of text (no escape codes; the caller clears the screen). */
export function renderFrame(frame: FleetFrame): string {
  const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;
  const perSecond = (value: number) => (frame.windowMs > 0 ? (value * 1000) / frame.windowMs : 0);
  const { window, total } = frame;
  const lines = [
    `steadfast demo  ${seconds(frame.elapsedMs)} / ${seconds(frame.totalMs)}   phase ${frame.phase.number}/${frame.phase.count}: ${frame.phase.name}`,
    `  ${frame.phase.description}`,
    `  token sharing: ${frame.tokenSharing}`,
    '',
    `fleet, last ${seconds(frame.windowMs)}: ${perSecond(window.calls).toFixed(1)} calls/s   success ${percent(window.succeeded, window.calls)}   attempts/call ${ratio(window.attempts, window.calls)}   not permitted ${Math.round(window.notPermitted)}`,
    `  retries by reason: ${formatCounts(window.retriesByReason)}`,
    `fleet, since start: ${Math.round(total.calls)} calls   success ${percent(total.succeeded, total.calls)}   attempts/call ${ratio(total.attempts, total.calls)}   retries ${formatCounts(total.retriesByReason)}`,
    `  token fetches across the fleet: ${Math.round(total.tokenFetches)} (IdP saw ${frame.idpTokenRequests} token requests)   401s absorbed without a fetch: ${Math.round(total.tokenInvalidations.newer_present ?? 0)}`,
    `  API responses: ${formatCounts(frame.apiByStatus)}`,
    '',
    'workers:',
    ...frame.workers.map((worker) => {
      const breakers = Object.entries(worker.breakers)
        .map(([origin, state]) => `${origin}=${state}`)
        .join(' ');
      const store =
        worker.storeUp === undefined ? '' : worker.storeUp === 1 ? '  store up' : '  store DOWN';
      return `  #${worker.index} pid ${worker.pid ?? '-'} ${worker.up ? 'up  ' : 'DOWN'}  calls ${Math.round(worker.calls)}  token fetches ${Math.round(worker.tokenFetches)}  breaker ${breakers || '-'}${store}  ${worker.metricsUrl ?? ''}`;
    }),
  ];
  if (frame.recentLog.length > 0) {
    lines.push('', 'recent log:', ...frame.recentLog.map((line) => `  ${line}`));
  }
  return `${lines.join('\n')}\n`;
}

/** One status line per period, for logs and CI (no terminal). */
export function renderStatusLine(frame: FleetFrame): string {
  const { window } = frame;
  const callsPerSecond = frame.windowMs > 0 ? (window.calls * 1000) / frame.windowMs : 0;
  const breakers = frame.workers
    .map((worker) => Object.values(worker.breakers).join('/') || '-')
    .join(',');
  return `[${Math.round(frame.elapsedMs / 1000)}s ${frame.phase.name}] ${callsPerSecond.toFixed(1)} calls/s, success ${percent(window.succeeded, window.calls)}, attempts/call ${ratio(window.attempts, window.calls)}, breakers ${breakers}, token fetches ${Math.round(frame.total.tokenFetches)}\n`;
}

/** Cut every line to the terminal width, so a long log line never wraps the view. */
export function fitToWidth(text: string, columns: number): string {
  return text
    .split('\n')
    .map((line) => (line.length >= columns ? `${line.slice(0, Math.max(columns - 2, 1))}…` : line))
    .join('\n');
}

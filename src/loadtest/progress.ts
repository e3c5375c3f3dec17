/** What the newer strategies did so far, for the progress line (shown when not zero). */
export interface LiveStrategies {
  /** Hedged attempts sent. */
  readonly hedges: number;
  /** Fallbacks served (stale or the handler's). */
  readonly fallbacks: number;
  /** Attempts refused in the client by adaptive throttling. */
  readonly throttled: number;
  /** The adaptive concurrency limit now (summed over processes); undefined before it moved. */
  readonly limit: number | undefined;
}

/** Live figures of the run in progress. */
export interface LiveFigures {
  readonly calls: number;
  readonly succeeded: number;
  readonly attempts: number;
  readonly inflight: number;
  readonly elapsedMs: number;
  /** 429s the demo API answered so far (its own count); absent for a URL target. */
  readonly api429?: number;
  readonly strategies?: LiveStrategies;
}

/**
 * Progress on stderr: on a TTY one line redrawn in place with a bar; otherwise a plain
 * line every few seconds (CI logs stay readable).
 */
export class Progress {
  #timer: NodeJS.Timeout | undefined;
  #lastPlain = 0;

  constructor(
    private readonly mode: 'tty' | 'plain' | 'off',
    private readonly out: NodeJS.WriteStream | { write(text: string): unknown } = process.stderr,
  ) {}

  /** Start reporting one policy's run. `planned` is its planned duration or call count. */
  start(
    label: string,
    planned: { durationMs?: number | undefined; calls?: number | undefined },
    read: () => LiveFigures,
  ): void {
    if (this.mode === 'off') return;
    this.#lastPlain = 0;
    const render = () => this.#render(label, planned, read());
    this.#timer = setInterval(render, this.mode === 'tty' ? 150 : 500);
    this.#timer.unref();
  }

  /** Stop, leaving a final line. */
  finish(label: string, figures: LiveFigures, note = ''): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.mode === 'off') return;
    const line = `${label} done  ${this.#figures(figures)}${note ? `  ${note}` : ''}`;
    this.out.write(this.mode === 'tty' ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }

  #render(
    label: string,
    planned: { durationMs?: number | undefined; calls?: number | undefined },
    figures: LiveFigures,
  ): void {
    const share = planned.durationMs
      ? figures.elapsedMs / planned.durationMs
      : planned.calls
        ? (figures.calls + figures.inflight) / planned.calls
        : 0;
    const done = Math.max(0, Math.min(1, share));
    if (this.mode === 'tty') {
      const width = 24;
      const filled = Math.round(done * width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      this.out.write(
        `\r\x1b[2K${label} ${bar} ${String(Math.round(done * 100)).padStart(3)}%  ${this.#figures(figures)}`,
      );
    } else if (figures.elapsedMs - this.#lastPlain >= 2_000) {
      this.#lastPlain = figures.elapsedMs;
      this.out.write(`${label} ${Math.round(done * 100)}%  ${this.#figures(figures)}\n`);
    }
  }

  #figures(f: LiveFigures): string {
    const ratio = f.calls ? ((100 * f.succeeded) / f.calls).toFixed(1) : '-';
    const amplification = f.calls ? (f.attempts / f.calls).toFixed(2) : '-';
    const rate = f.elapsedMs > 0 ? ((1000 * f.calls) / f.elapsedMs).toFixed(0) : '0';
    const api = f.api429 === undefined ? '' : `  API 429s ${f.api429}`;
    const s = f.strategies;
    const strategies = s
      ? [
          s.hedges ? `  hedges ${s.hedges}` : '',
          s.fallbacks ? `  fallbacks ${s.fallbacks}` : '',
          s.limit !== undefined ? `  limit ${s.limit}` : '',
          s.throttled ? `  throttled ${s.throttled}` : '',
        ].join('')
      : '';
    return `${(f.elapsedMs / 1000).toFixed(1)}s  calls ${f.calls}  ok ${ratio}%  attempts/call ${amplification}  ${rate}/s  in flight ${f.inflight}${api}${strategies}`;
  }
}

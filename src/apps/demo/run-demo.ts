import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultProfile } from '../fault-profile.js';
import { type FlakyApi, startFlakyApi } from '../flaky-api.js';
import { type Idp, startIdp } from '../idp.js';
import {
  addCounters,
  type FleetCounters,
  scrapeWorker,
  subtractCounters,
  type WorkerScrape,
  ZERO_COUNTERS,
} from './fleet-metrics.js';
import { percent, ratio, renderFrame } from './fleet-view.js';
import { DEMO_PHASES, type DemoPhase, type PhaseControls } from './phases.js';
import { type PrivateRedis, redisServerAvailable, startPrivateRedis } from './private-redis.js';
import {
  type ChildExit,
  type CliEntry,
  spawnWorker,
  type WorkerProcess,
} from './worker-process.js';

/** Where the fleet shares its token. */
export type RedisMode = 'auto' | 'private' | 'none';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Worker processes. Default: 3. */
  readonly workers?: number;
  /** Whole run, all phases, in ms. Default: 90 000 (90 s). */
  readonly durationMs?: number;
  /** Calls per second per worker. Default: 20. */
  readonly ratePerSecond?: number;
  /** In-flight calls per worker at most. Default: 20. */
  readonly concurrency?: number;
  /** Access token lifetime at the IdP, in seconds. Default: 60. */
  readonly tokenTtlSeconds?: number;
  /**
   * `auto`: `redisUrl` if given, else a private redis-server when one is on PATH, else the
   * in-memory store. `private`: a private redis-server or fail. `none`: in-memory store.
   * Default: `auto`.
   */
  readonly redis?: RedisMode;
  /** An existing Redis to use (keys under a per-run prefix; nothing is flushed). */
  readonly redisUrl?: string;
  /** How to start `steadfast worker`. */
  readonly cliEntry: CliEntry;
  /** Environment the workers inherit (minus Redis settings). Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where the view and the summary go. Default: `process.stdout`. */
  readonly output?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Redraw a full-screen view (a terminal), or print one status line per `statusIntervalMs`. Default: whether `output` is a TTY. */
  readonly interactive?: boolean;
  /** Period of the status line when not interactive, in ms. Default: 5 000 (5 s). */
  readonly statusIntervalMs?: number;
  /** Stops the run early (Ctrl-C); the workers are still stopped cleanly. */
  readonly signal?: AbortSignal;
  /** Seed of the API's fault RNG. Default: random. */
  readonly seed?: number;
  /** The phases. Default: {@link DEMO_PHASES}. */
  readonly phases?: readonly DemoPhase[];
}

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

const WORKER_CLIENT = { clientId: 'demo-worker', scopes: ['weather.read'] } as const;
const API_CLIENT_ID = 'demo-weather-api';
const WORKER_READY_TIMEOUT_MS = 30_000; // 30 s: cold tsx start on a slow machine
const WORKER_STOP_GRACE_MS = 15_000; // 15 s: the worker drains for at most 10 s
const LOG_LINES_KEPT = 8;
const VIEW_WINDOW_MS = 5_000; // 5 s: rates in the live view

/**
 * Run the demo: an IdP and the flaky API in this process, `workers` worker processes that
 * share one token, and the fault phases; a live view while it runs and a summary at the
 * end. Every child is stopped (SIGTERM, drain) before it resolves, also when `signal` aborts.
 */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const workerCount = options.workers ?? 3;
  const durationMs = options.durationMs ?? 90_000; // 90 s
  const output = options.output ?? process.stdout;
  const interactive = options.interactive ?? Boolean((output as NodeJS.WriteStream).isTTY);
  const statusIntervalMs = options.statusIntervalMs ?? 5_000; // 5 s
  const phases = options.phases ?? DEMO_PHASES;
  const env = options.env ?? process.env;
  const write = (text: string) => output.write(text);
  const recentLog: string[] = [];
  const log = (line: string) => {
    recentLog.push(line);
    if (recentLog.length > LOG_LINES_KEPT) recentLog.shift();
    if (!interactive) write(`${line}\n`);
  };

  const secrets = {
    worker: randomBytes(18).toString('base64url'),
    api: randomBytes(18).toString('base64url'),
    admin: randomBytes(18).toString('base64url'),
  };
  const cleanup: (() => Promise<void>)[] = [];
  const workers: WorkerProcess[] = [];
  const metricsUrls: (string | undefined)[] = [];
  const lastScrapes: (WorkerScrape | undefined)[] = [];
  let interrupted = false;
  let failed = false;
  let viewTimer: NodeJS.Timeout | undefined;

  try {
    // Where the token is shared.
    let redisUrl: string | undefined;
    let keyPrefix: string | undefined;
    let tokenSharing: string;
    const mode = options.redis ?? 'auto';
    if (mode !== 'none' && options.redisUrl) {
      redisUrl = options.redisUrl;
      // A shared Redis: keys under a prefix of this run, so nothing else is touched.
      keyPrefix = `steadfast-demo:${randomBytes(4).toString('hex')}:`;
      tokenSharing = `Redis from REDIS_URL (keys under ${keyPrefix})`;
    } else if (mode !== 'none' && redisServerAvailable()) {
      const redis: PrivateRedis = await startPrivateRedis();
      cleanup.push(() => redis.stop());
      redisUrl = redis.url;
      tokenSharing = `private redis-server on ${redis.url} (pid ${redis.pid})`;
    } else if (mode === 'private') {
      throw new Error('--redis private: redis-server is not on PATH');
    } else {
      tokenSharing = 'NONE: in-memory store, each worker fetches its own token';
      const why = mode === 'none' ? '--redis none' : 'no REDIS_URL and no redis-server on PATH';
      write(
        `WARNING: in-memory token store (${why}): the workers do not share their token;\n` +
          '         expect one token fetch per worker instead of one for the fleet.\n',
      );
    }

    const idp: Idp = await startIdp({
      clients: [
        { ...WORKER_CLIENT, clientSecret: secrets.worker },
        { clientId: API_CLIENT_ID, clientSecret: secrets.api, mayRevokeAnyToken: true },
      ],
      accessTokenTtlSeconds: options.tokenTtlSeconds ?? 60,
      log: (line) => log(line),
    });
    cleanup.push(() => idp.close());
    const api: FlakyApi = await startFlakyApi({
      introspection: {
        url: idp.introspectionEndpoint,
        clientId: API_CLIENT_ID,
        clientSecret: secrets.api,
      },
      revocationUrl: idp.revocationEndpoint,
      adminToken: secrets.admin,
      requiredScope: 'weather.read',
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      log: (line) => log(line),
    });
    cleanup.push(() => api.close());
    write(`IdP on ${idp.url}, API on ${api.url}, token sharing: ${tokenSharing}\n`);

    // The workers.
    const workerEnv: NodeJS.ProcessEnv = {
      ...env,
      WORKER_API_URL: api.url,
      WORKER_TOKEN_URL: idp.tokenEndpoint,
      WORKER_CLIENT_ID: WORKER_CLIENT.clientId,
      WORKER_CLIENT_SECRET: secrets.worker,
      WORKER_SCOPE: WORKER_CLIENT.scopes.join(' '),
      WORKER_RATE: String(options.ratePerSecond ?? 20),
      WORKER_CONCURRENCY: String(options.concurrency ?? 20),
      WORKER_PIPELINE: 'demo',
      WORKER_SUMMARY_INTERVAL_MS: '0',
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      // Without a collector configured, do not try to export spans to localhost:4318.
      OTEL_TRACES_EXPORTER:
        env.OTEL_TRACES_EXPORTER ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT ? undefined : 'none'),
    };
    delete workerEnv.REDIS_URL;
    delete workerEnv.WORKER_REDIS_KEY_PREFIX;
    if (redisUrl) workerEnv.REDIS_URL = redisUrl;
    if (keyPrefix) workerEnv.WORKER_REDIS_KEY_PREFIX = keyPrefix;
    for (const [key, value] of Object.entries(workerEnv)) {
      if (value === undefined) delete workerEnv[key];
    }
    for (let index = 1; index <= workerCount; index += 1) {
      workers.push(
        spawnWorker(index, options.cliEntry, workerEnv, (line) => log(`#${index} ${line}`)),
      );
    }
    const abortWait = new Promise<never>((_, reject) => {
      if (options.signal?.aborted) reject(new Error('interrupted'));
      options.signal?.addEventListener('abort', () => reject(new Error('interrupted')), {
        once: true,
      });
    });
    abortWait.catch(() => {});
    const readyTimeout = sleep(WORKER_READY_TIMEOUT_MS, undefined, { ref: false }).then(() => {
      throw new Error(`workers not ready within ${WORKER_READY_TIMEOUT_MS / 1000} s`);
    });
    readyTimeout.catch(() => {});
    const urls = await Promise.race([
      Promise.all(workers.map((worker) => worker.ready)),
      abortWait,
      readyTimeout,
    ]);
    urls.forEach((url, index) => {
      metricsUrls[index] = url;
    });
    write(
      `${workers.map((worker, index) => `worker #${worker.index} (pid ${worker.pid}) metrics: ${urls[index]}`).join('\n')}\n`,
    );

    // Scraping and the view.
    const scrapeAll = async (): Promise<FleetCounters> => {
      const scrapes = await Promise.all(
        metricsUrls.map((url) => (url ? scrapeWorker(url) : Promise.resolve(undefined))),
      );
      scrapes.forEach((scrape, index) => {
        // Keep the last good scrape: a worker that misses one scrape must not make the
        // fleet's counters go backwards.
        if (scrape?.up) lastScrapes[index] = scrape;
        else if (lastScrapes[index]) lastScrapes[index] = { ...lastScrapes[index]!, up: false };
      });
      return addCounters(lastScrapes.map((scrape) => scrape?.counters ?? ZERO_COUNTERS));
    };

    const startedAt = performance.now();
    let phaseIndex = 0;
    // Workers are fresh processes: their counters start at zero, cold start included.
    const baseline = ZERO_COUNTERS;
    // Rates over a rolling window: one-second deltas are too jumpy to read.
    const history: { at: number; counters: FleetCounters }[] = [
      { at: performance.now(), counters: await scrapeAll() },
    ];
    let lastStatusAt = 0;
    let screenCleared = false;
    const refresh = async () => {
      const total = await scrapeAll();
      const now = performance.now();
      const windowMs = interactive ? VIEW_WINDOW_MS : statusIntervalMs;
      while (history.length > 1 && now - history[1]!.at >= windowMs) history.shift();
      const previous = history[0]!;
      const frame = {
        elapsedMs: now - startedAt,
        totalMs: durationMs,
        phase: {
          name: phases[phaseIndex]!.name,
          number: phaseIndex + 1,
          count: phases.length,
          description: phases[phaseIndex]!.description,
        },
        tokenSharing,
        window: subtractCounters(total, previous.counters),
        windowMs: now - previous.at,
        total: subtractCounters(total, baseline),
        workers: workers.map((worker, index) => ({
          index: worker.index,
          pid: worker.pid,
          metricsUrl: metricsUrls[index],
          up: lastScrapes[index]?.up ?? false,
          calls: lastScrapes[index]?.counters.calls ?? 0,
          tokenFetches: lastScrapes[index]?.counters.tokenFetches ?? 0,
          breakers: lastScrapes[index]?.breakers ?? {},
          storeUp: lastScrapes[index]?.storeUp,
        })),
        idpTokenRequests: idp.stats().tokenRequests,
        apiByStatus: api.stats().byStatus,
        recentLog,
      };
      history.push({ at: now, counters: total });
      if (interactive) {
        // Home, overwrite each line, clear the rest: no flicker of a full clear per frame.
        const columns = (output as NodeJS.WriteStream).columns ?? 120;
        const body = renderFrame(frame)
          .split('\n')
          .map((line) => (line.length >= columns ? `${line.slice(0, columns - 2)}…` : line))
          .join('\x1b[K\n');
        write(`${screenCleared ? '' : '\x1b[2J'}\x1b[H${body}\x1b[J`);
        screenCleared = true;
      } else if (now - lastStatusAt >= statusIntervalMs) {
        const { window } = frame;
        write(
          `[${Math.round(frame.elapsedMs / 1000)}s ${frame.phase.name}] ${((window.calls * 1000) / frame.windowMs).toFixed(1)} calls/s, success ${percent(window.succeeded, window.calls)}, attempts/call ${ratio(window.attempts, window.calls)}, breakers ${frame.workers.map((worker) => Object.values(worker.breakers).join('/') || '-').join(',')}, token fetches ${Math.round(frame.total.tokenFetches)}\n`,
        );
        lastStatusAt = now;
      }
    };
    let refreshing = false;
    viewTimer = setInterval(() => {
      if (refreshing) return;
      refreshing = true;
      refresh().finally(() => {
        refreshing = false;
      });
    }, 1_000);

    // The phases.
    const controls: PhaseControls = {
      async setProfile(profile: Partial<FaultProfile>) {
        const res = await fetch(`${api.url}/admin/profile`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${secrets.admin}`, 'content-type': 'application/json' },
          body: JSON.stringify(profile),
        });
        if (!res.ok)
          throw new Error(`PUT /admin/profile answered ${res.status}: ${await res.text()}`);
        await res.body?.cancel();
      },
      async revokeCurrentToken() {
        const res = await fetch(`${api.url}/admin/revoke-current-token`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secrets.admin}` },
        });
        const body = (await res.json()) as {
          revoked: boolean;
          fingerprint?: string;
          reason?: string;
        };
        return body.revoked
          ? `revoked token ${body.fingerprint} at the IdP`
          : `could not revoke the current token: ${body.reason}`;
      },
    };
    const phaseReports: PhaseReport[] = [];
    for (phaseIndex = 0; phaseIndex < phases.length; phaseIndex += 1) {
      const phase = phases[phaseIndex]!;
      // The first phase includes the start-up (the cold token fetch): it starts from zero.
      const before = phaseIndex === 0 ? baseline : await scrapeAll();
      const idpBefore = phaseIndex === 0 ? 0 : idp.stats().tokenRequests;
      const phaseStart = performance.now();
      log(
        `phase ${phaseIndex + 1}/${phases.length} "${phase.name}": ${await phase.enter(controls)}`,
      );
      try {
        await sleep(
          phase.share * durationMs,
          undefined,
          options.signal ? { signal: options.signal } : {},
        );
      } catch {
        interrupted = true;
      }
      const after = await scrapeAll();
      phaseReports.push({
        name: phase.name,
        counters: subtractCounters(after, before),
        idpTokenRequests: idp.stats().tokenRequests - idpBefore,
        durationMs: performance.now() - phaseStart,
      });
      if (interrupted) break;
    }
    clearInterval(viewTimer);
    viewTimer = undefined;
    const total = subtractCounters(await scrapeAll(), baseline);

    // Stop every worker, then report.
    if (interrupted) write('\ninterrupted: stopping the workers...\n');
    const exits = await Promise.all(workers.map((worker) => worker.stop(WORKER_STOP_GRACE_MS)));
    const report: DemoReport = {
      ok: exits.every((exit) => exit.code === 0),
      interrupted,
      tokenSharing,
      phases: phaseReports,
      total,
      idpTokenRequests: idp.stats().tokenRequests,
      apiByStatus: api.stats().byStatus,
      workers: workers.map((worker, index) => ({
        index: worker.index,
        pid: worker.pid,
        metricsUrl: metricsUrls[index],
        exit: exits[index]!,
      })),
    };
    write(renderSummary(report));
    return report;
  } catch (error) {
    failed = true;
    if (options.signal?.aborted) interrupted = true;
    throw error;
  } finally {
    if (viewTimer) clearInterval(viewTimer);
    // Whatever happened, no child outlives the demo.
    await Promise.all(workers.map((worker) => worker.stop(WORKER_STOP_GRACE_MS)));
    for (const step of cleanup.reverse()) {
      await step().catch(() => {});
    }
    if (failed && interrupted) write('interrupted: every child stopped\n');
  }
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

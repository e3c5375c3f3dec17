import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FlakyApi, startFlakyApi } from '../flaky-api.js';
import { type Idp, startIdp } from '../idp.js';
import { apiControls } from './api-controls.js';
import {
  addCounters,
  type FleetCounters,
  scrapeWorker,
  subtractCounters,
  type WorkerScrape,
  ZERO_COUNTERS,
} from './fleet-metrics.js';
import { type FleetFrame, fitToWidth, renderFrame, renderStatusLine } from './fleet-view.js';
import { DEMO_PHASES, type DemoPhase } from './phases.js';
import { type DemoReport, type PhaseReport, renderSummary } from './summary.js';
import { chooseTokenSharing, type RedisMode } from './token-sharing.js';
import { type CliEntry, spawnWorker, type WorkerProcess } from './worker-process.js';

export type { DemoReport, PhaseReport, WorkerReport } from './summary.js';
export type { RedisMode } from './token-sharing.js';

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
    const sharing = await chooseTokenSharing(options.redis ?? 'auto', options.redisUrl, write);
    if (sharing.stop) cleanup.push(sharing.stop);
    const { redisUrl, keyPrefix, description: tokenSharing } = sharing;

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
    // The demo's workers authenticate as the demo IdP's secret client, whatever the shell
    // holds for a real one (another method, key or certificate files, DPoP, Redis encryption).
    for (const name of [
      'REDIS_URL',
      'WORKER_REDIS_KEY_PREFIX',
      'WORKER_CLIENT_AUTH_METHOD',
      'WORKER_CLIENT_KEY_FILE',
      'WORKER_KEY_ID',
      'WORKER_CLIENT_CERT_FILE',
      'WORKER_CLIENT_CERT_KEY_FILE',
      'WORKER_CA_FILE',
      'WORKER_KEY_PASSPHRASE',
      'WORKER_DPOP',
      'TOKEN_KEY',
    ])
      delete workerEnv[name];
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
      const frame: FleetFrame = {
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
        const body = fitToWidth(renderFrame(frame), (output as NodeJS.WriteStream).columns ?? 120);
        write(`${screenCleared ? '' : '\x1b[2J'}\x1b[H${body.replace(/\n/g, '\x1b[K\n')}\x1b[J`);
        screenCleared = true;
      } else if (now - lastStatusAt >= statusIntervalMs) {
        write(renderStatusLine(frame));
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
    const controls = apiControls(api.url, secrets.admin);
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

import { fork } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { type CallerSetup, createCaller } from './callers.js';
import { type DrivePlan, drive } from './drive.js';
import { POLICY_DESCRIPTIONS, policyStrategies, type QuotaPreset, quotaKey } from './policies.js';
import type { LiveFigures, LiveStrategies, Progress } from './progress.js';
import { Recorder } from './recorder.js';
import { type ApiCounts, type ApiSample, type RunReport, summarize } from './report/summary.js';
import type { DemoTarget } from './target.js';
import {
  emptyRawRun,
  type LoadtestConfig,
  mergeRawRun,
  type PolicyName,
  type RawRun,
} from './types.js';
import type { FromWorker, ToWorker } from './worker.js';

/** Everything a load test produced: the JSON report, and the source of the other two. */
export interface LoadtestReport {
  readonly tool: 'steadfast loadtest';
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The command line, for reproducing the run. */
  readonly command: string;
  /** True when Ctrl-C cut the run short: figures cover what ran. */
  readonly interrupted: boolean;
  readonly config: {
    readonly target: string;
    readonly phases: readonly { profile: string; startMs: number; durationMs: number }[];
    readonly model: LoadtestConfig['model'];
    readonly durationMs: number | undefined;
    readonly calls: number | undefined;
    readonly seed: number;
    readonly timeFactor: number;
    readonly workers: number;
    readonly overrides: Record<string, unknown>;
  };
  readonly runs: RunReport[];
}

export interface RunHooks {
  /** Aborted by Ctrl-C: stop scheduling, cut calls short, report what ran. */
  readonly stop: AbortSignal;
  readonly progress: Progress;
  readonly command: string;
  /** Called with the demo target once it is up (tests read the API's log through it). */
  readonly onDemoTarget?: (target: DemoTarget, policy: PolicyName) => void;
}

/** Run every policy of `config` in turn, against a fresh target each, and build the report. */
export async function runLoadtest(
  config: LoadtestConfig,
  hooks: RunHooks,
): Promise<LoadtestReport> {
  const startedAt = new Date().toISOString();
  const runs: RunReport[] = [];
  if (config.target.kind === 'demo' && config.workers === 1) await warmUp(config);
  const redis = config.privateRedis
    ? await (await import('../apps/demo/private-redis.js')).startPrivateRedis()
    : undefined;
  try {
    const withRedis = redis ? { ...config, redisUrl: redis.url } : config;
    for (const policy of config.policies) {
      if (hooks.stop.aborted) break;
      runs.push(await runPolicy(withRedis, policy, hooks));
    }
  } finally {
    await redis?.stop();
  }
  const target = config.target;
  return {
    tool: 'steadfast loadtest',
    startedAt,
    finishedAt: new Date().toISOString(),
    command: hooks.command,
    interrupted: hooks.stop.aborted,
    config: {
      target: target.kind === 'demo' ? 'demo flaky API' : target.url,
      phases:
        target.kind === 'demo'
          ? target.phases.map((p) => ({
              profile: p.profile.name,
              startMs: p.startMs,
              durationMs: p.durationMs,
            }))
          : [],
      model: config.model,
      durationMs: config.durationMs,
      calls: config.calls,
      seed: config.seed,
      timeFactor: config.timeFactor,
      workers: config.workers,
      overrides: config.overrides,
    },
    runs,
  };
}

/**
 * The first calls of a process pay for JIT compilation, lazy module loading and the IdP's
 * first requests: hundreds of ms in which the event loop the target shares with the load
 * generator stalls. Pay that once, on a throwaway target, before anything is measured.
 */
async function warmUp(config: LoadtestConfig): Promise<void> {
  const { startDemoTarget } = await import('./target.js');
  const demo = await startDemoTarget(
    [{ profile: { name: 'healthy' }, startMs: 0, durationMs: 0 }],
    0,
  );
  try {
    for (const policy of new Set(config.policies)) {
      const recorder = new Recorder(Date.now());
      const caller = createCaller({
        policy,
        url: demo.url,
        auth: demo.auth,
        redisUrl: undefined,
        seed: config.seed,
        timeFactor: config.timeFactor,
        overrides: config.overrides,
        // Its calls compile the quota's code paths; they must not wait for its permits.
        ...(config.quotaLimit === undefined
          ? {}
          : { quota: { key: 'loadtest-warm-up', limitPerSecond: 100_000 } }),
        recorder,
      });
      const never = new AbortController().signal;
      // Shared by the concurrent warm-up calls.
      setMaxListeners(0, never);
      try {
        for (let round = 0; round < 5; round++) {
          await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              caller.call(never, { index: round * 10 + i, intendedStartMs: 0 }),
            ),
          );
        }
      } finally {
        await caller.close();
      }
    }
  } finally {
    await demo.close();
  }
}

async function runPolicy(
  config: LoadtestConfig,
  policy: PolicyName,
  hooks: RunHooks,
): Promise<RunReport> {
  // Loaded on demand: a URL target never loads the IdP's dependencies.
  const demo =
    config.target.kind === 'demo'
      ? await (await import('./target.js')).startDemoTarget(config.target.phases, config.seed)
      : undefined;
  try {
    if (demo) hooks.onDemoTarget?.(demo, policy);
    const url = demo ? demo.url : (config.target as { url: string }).url;
    const auth = demo ? demo.auth : config.target.kind === 'url' ? config.target.auth : undefined;
    const setup: Omit<CallerSetup, 'recorder'> = {
      policy,
      url,
      auth,
      redisUrl: config.workers > 1 ? config.redisUrl : undefined,
      // A fresh token namespace per run, shared by its workers: no token leaks between runs.
      storeKeyPrefix: `steadfast:loadtest:${process.pid}:${Date.now()}:${policy}:`,
      seed: config.seed,
      timeFactor: config.timeFactor,
      overrides: config.overrides,
      // Each call names itself and its phase: its faults are a function of (seed, call, attempt).
      requestKeys: demo !== undefined,
      phaseStartsMs:
        config.target.kind === 'demo' ? config.target.phases.map((p) => p.startMs) : undefined,
      ...quotaOf(config, auth?.clientId),
    };
    const plan: DrivePlan = {
      model: config.model,
      durationMs: config.durationMs,
      calls: config.calls,
      maxInflight: config.maxInflight,
    };
    const label = `[${policy}]`;
    const samples = demo ? new TargetSamples(demo) : undefined;

    const run =
      config.workers > 1
        ? await runInWorkers(config.workers, setup, plan, hooks, label, samples)
        : await runInProcess(setup, plan, hooks, label, samples);

    // Calls that ended after the last sample still made requests: take a final sample.
    samples?.take(run.elapsedMs);
    return summarize(run.raw, {
      policy,
      description: POLICY_DESCRIPTIONS[policy],
      strategies: policyStrategies(policy, config.overrides),
      elapsedMs: run.elapsedMs,
      idpTokenSamples: samples?.idp,
      apiSamples: samples?.api,
      api: demo ? apiCounts(demo) : undefined,
    });
  } finally {
    await demo?.close();
  }
}

/** The `standard+quota` policy's quota, keyed by the client id the API counts by. */
function quotaOf(config: LoadtestConfig, clientId: string | undefined): { quota?: QuotaPreset } {
  return config.quotaLimit === undefined
    ? {}
    : { quota: { key: quotaKey(clientId), limitPerSecond: config.quotaLimit } };
}

/** The demo API's own counts of a run: every client id together. */
function apiCounts(demo: DemoTarget): ApiCounts {
  const stats = demo.api.stats();
  const clients = Object.values(stats.quota.byClient);
  const { peakBusy, peakQueued, refused, abandoned } = stats.capacity;
  return {
    requests: stats.requests,
    byStatus: { ...stats.byStatus },
    quotaPerSecond: stats.quota.perSecond,
    accepted: clients.reduce((sum, c) => sum + c.accepted, 0),
    quotaRateLimited: clients.reduce((sum, c) => sum + c.rateLimited, 0),
    slow: stats.injected.slow,
    // A request that met a capacity took a worker, was refused or left the queue.
    capacity:
      stats.capacity.served + refused + abandoned > 0
        ? { peakBusy, peakQueued, refused, abandoned }
        : undefined,
  };
}

/**
 * The demo target's own counters, sampled every 100 ms while a run goes: token requests at
 * the IdP, and what the API accepted and answered 429. Also the live figures' API part.
 */
class TargetSamples {
  readonly idp: { t: number; count: number }[] = [];
  readonly api: ApiSample[] = [];
  readonly #idpBaseline: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly demo: DemoTarget) {
    this.#idpBaseline = demo.idp.stats().tokenRequests;
  }

  start(now: () => number): void {
    this.#timer = setInterval(() => this.take(now()), 100);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  take(t: number): void {
    this.idp.push({ t, count: this.demo.idp.stats().tokenRequests - this.#idpBaseline });
    const counts = apiCounts(this.demo);
    this.api.push({ t, accepted: counts.accepted, rateLimited: counts.byStatus['429'] ?? 0 });
  }

  /** 429s the API answered so far, for the progress line. */
  api429(): number {
    return this.demo.api.stats().byStatus['429'] ?? 0;
  }
}

async function runInProcess(
  setup: Omit<CallerSetup, 'recorder'>,
  plan: DrivePlan,
  hooks: RunHooks,
  label: string,
  samples: TargetSamples | undefined,
): Promise<{ raw: RawRun; elapsedMs: number }> {
  const recorder = new Recorder(Date.now());
  const caller = createCaller({ ...setup, recorder });
  const live = (): LiveFigures => ({
    calls: recorder.calls,
    succeeded: recorder.succeeded,
    attempts: recorder.attempts,
    inflight: recorder.inflight,
    elapsedMs: recorder.now(),
    strategies: recorder.liveStrategies(),
    ...(samples ? { api429: samples.api429() } : {}),
  });
  samples?.start(() => recorder.now());
  hooks.progress.start(label, plan, live);
  try {
    await drive(caller, recorder, plan, hooks.stop);
  } finally {
    samples?.stop();
    await caller.close();
  }
  const elapsedMs = recorder.now();
  hooks.progress.finish(label, live(), hooks.stop.aborted ? '(interrupted)' : '');
  return { raw: recorder.raw, elapsedMs };
}

/** The worker processes' figures together: limits add up (each process has its own). */
function sumStrategies(all: readonly LiveStrategies[]): LiveStrategies {
  const limits = all.map((s) => s.limit).filter((l): l is number => l !== undefined);
  return {
    hedges: all.reduce((a, s) => a + s.hedges, 0),
    fallbacks: all.reduce((a, s) => a + s.fallbacks, 0),
    throttled: all.reduce((a, s) => a + s.throttled, 0),
    limit: limits.length ? limits.reduce((a, b) => a + b, 0) : undefined,
  };
}

async function runInWorkers(
  workers: number,
  setup: Omit<CallerSetup, 'recorder'>,
  plan: DrivePlan,
  hooks: RunHooks,
  label: string,
  samples: TargetSamples | undefined,
): Promise<{ raw: RawRun; elapsedMs: number }> {
  const isTs = import.meta.url.endsWith('.ts');
  const entry = new URL(isTs ? './worker.ts' : './worker.js', import.meta.url);
  const children = Array.from({ length: workers }, () =>
    fork(entry, [], {
      execArgv: isTs ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const live = children.map(
    (): Omit<Extract<FromWorker, { type: 'progress' }>, 'type'> => ({
      calls: 0,
      succeeded: 0,
      attempts: 0,
      inflight: 0,
      strategies: { hedges: 0, fallbacks: 0, throttled: 0, limit: undefined },
    }),
  );
  const raw = emptyRawRun();
  const failures: string[] = [];
  try {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve, reject) => {
            child.once('message', (m: FromWorker) =>
              m.type === 'ready' ? resolve() : reject(new Error('worker did not start')),
            );
            child.once('exit', (code) =>
              reject(new Error(`worker exited with ${code} before starting`)),
            );
          }),
      ),
    );
    const epochStartMs = Date.now() + 100; // every worker starts on the same instant
    const share = (total: number | undefined, i: number) =>
      total === undefined ? undefined : Math.floor(total / workers) + (i < total % workers ? 1 : 0);
    const finished = children.map(
      (child, i) =>
        new Promise<void>((resolve) => {
          child.on('message', (m: FromWorker) => {
            if (m.type === 'progress') live[i] = m;
            else if (m.type === 'done') mergeRawRun(raw, m.raw);
            else if (m.type === 'failed') failures.push(m.message);
          });
          child.once('exit', () => resolve());
        }),
    );
    children.forEach((child, i) => {
      const model =
        plan.model.kind === 'open'
          ? { kind: 'open' as const, ratePerSecond: plan.model.ratePerSecond / workers }
          : { kind: 'closed' as const, concurrency: share(plan.model.concurrency, i)! };
      const message: ToWorker = {
        type: 'start',
        // One seed for all: jitter and chaos draw per call, keyed by the run-wide call index.
        setup,
        plan: {
          ...plan,
          model,
          calls: share(plan.calls, i),
          callIndex: { first: i, step: workers },
        },
        epochStartMs,
      };
      child.send(message);
    });
    const recorderClock = new Recorder(epochStartMs);
    const onStop = () => {
      for (const child of children)
        if (child.connected) child.send({ type: 'stop' } satisfies ToWorker);
    };
    hooks.stop.addEventListener('abort', onStop, { once: true });
    const wait = epochStartMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    samples?.start(() => recorderClock.now());
    const figures = (): LiveFigures => ({
      calls: live.reduce((a, w) => a + w.calls, 0),
      succeeded: live.reduce((a, w) => a + w.succeeded, 0),
      attempts: live.reduce((a, w) => a + w.attempts, 0),
      inflight: live.reduce((a, w) => a + w.inflight, 0),
      elapsedMs: recorderClock.now(),
      strategies: sumStrategies(live.map((w) => w.strategies)),
      ...(samples ? { api429: samples.api429() } : {}),
    });
    hooks.progress.start(label, plan, figures);
    await Promise.all(finished);
    samples?.stop();
    hooks.stop.removeEventListener('abort', onStop);
    const elapsedMs = recorderClock.now();
    hooks.progress.finish(label, figures(), hooks.stop.aborted ? '(interrupted)' : '');
    if (failures.length) throw new Error(`a worker failed:\n${failures[0]}`);
    return { raw, elapsedMs };
  } finally {
    samples?.stop();
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}

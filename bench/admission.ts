/**
 * Admission layers: what the in-process rate limiter, the fleet quota and the
 * cooldown cost per call, and how many Redis commands the fleet quota makes per call.
 *
 * 1. CPU per call around a no-op transport (bench/micro.ts's approach, through the client's
 *    whole pipeline: `buildCallPipeline` with a transport that answers 200 at once, a fresh
 *    `Call` per call as the client builds it). Each layer's pipeline against the same
 *    pipeline without it, in the same round, alternating; ratio = median of the per-round
 *    ratios. Limits are far above what a sequential loop can ask (1e9 per second), so no
 *    attempt ever waits (a pass before the timing checks that: a listener counts waits and
 *    refusals). Telemetry on (the default: prom-client metrics, tracing with no provider) is
 *    the headline; telemetry off is a diagnostic.
 * 2. The fleet quota's Redis commands per call: a private redis-server, a loopback HTTP server
 *    in this process, and N instances, each its own process (this file, forked) with its own
 *    client and `redisTokenStore`, each calling at a fixed rate (open loop). `INFO
 *    commandstats` (evalsha + eval) before and after the whole run and around a steady window
 *    after a warm-up; the server counts what it received. Once with a quota well above the
 *    demand, once saturated (demand twice the quota; `maxWaitMs` bounds the waits), where the
 *    rate the server saw is compared with the limit.
 *
 *   node --import tsx bench/admission.ts     (or: npm run bench -- admission)
 *   ADMISSION_CALLS=50000 ADMISSION_ROUNDS=15 ADMISSION_INSTANCES=4 ADMISSION_RATE=100
 *   ADMISSION_WARMUP_MS=1000 ADMISSION_MEASURE_MS=5000 ADMISSION_PARTS=1,2
 *
 * It measures the built package (dist/): `npm run build` first (`npm run bench` does).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { redisTokenStore } from '@steadfast/redis';
import type { CallPipeline } from '../packages/steadfast/dist/call-pipeline.js';
import {
  type ClientOptions,
  createClient,
  memoryQuotaStore,
} from '../packages/steadfast/dist/index.js';
import type { ClientEvents } from '../packages/steadfast/dist/pipeline/client-events.js';
import type { Outcome } from '../packages/steadfast/dist/pipeline/types.js';
import { median } from '../src/loadtest/percentile.js';
import { newCall, noopPipeline, TELEMETRY, type TelemetrySetting } from './no-op-pipeline.js';

const CALLS = Number(process.env.ADMISSION_CALLS ?? 50_000);
const ROUNDS = Number(process.env.ADMISSION_ROUNDS ?? 15);
const VERIFY_CALLS = 100_000;
const INSTANCES = Number(process.env.ADMISSION_INSTANCES ?? 4);
const RATE = Number(process.env.ADMISSION_RATE ?? 100); // calls per second per instance
const WARMUP_MS = Number(process.env.ADMISSION_WARMUP_MS ?? 1000);
const MEASURE_MS = Number(process.env.ADMISSION_MEASURE_MS ?? 5000);
const PARTS = (process.env.ADMISSION_PARTS ?? '1,2').split(',');
/** Far above what one sequential loop can ask: no attempt ever waits. */
const NEVER_WAITS = 1e9; // permits per second

// ── 1: CPU per call around a no-op transport ──────────────────────────────────────────

const OK: Outcome = {
  kind: 'response',
  response: { status: 200, headers: {}, body: null as never },
};
const okAtOnce = async (): Promise<Outcome> => OK;

type AdmissionOptions = Pick<ClientOptions, 'rateLimit' | 'quota' | 'cooldown'>;

/** Each configuration, built fresh per pipeline (a quota's memory store is its own). */
const LAYERS: readonly { readonly name: string; readonly options: () => AdmissionOptions }[] = [
  { name: 'no admission layer (baseline)', options: () => ({}) },
  {
    name: 'rateLimit token_bucket',
    options: () => ({ rateLimit: { limit: NEVER_WAITS } }),
  },
  {
    name: 'rateLimit sliding_window (10 segments)',
    options: () => ({ rateLimit: { limit: NEVER_WAITS, algorithm: 'sliding_window' } }),
  },
  {
    name: 'rateLimit fixed_window',
    options: () => ({ rateLimit: { limit: NEVER_WAITS, algorithm: 'fixed_window' } }),
  },
  {
    name: 'rateLimit token_bucket, partition by origin',
    options: () => ({ rateLimit: { limit: NEVER_WAITS, partition: (ctx) => ctx.origin } }),
  },
  {
    name: 'quota, memoryQuotaStore()',
    options: () => ({ quota: { key: 'bench', limit: NEVER_WAITS, store: memoryQuotaStore() } }),
  },
  { name: 'cooldown: true (no pause)', options: () => ({ cooldown: true }) },
  {
    name: 'all three (token bucket + quota + cooldown)',
    options: () => ({
      rateLimit: { limit: NEVER_WAITS },
      quota: { key: 'bench', limit: NEVER_WAITS, store: memoryQuotaStore() },
      cooldown: true,
    }),
  },
];

interface Candidate {
  readonly layer: number;
  readonly telemetry: TelemetrySetting;
  readonly client: string;
  readonly pipeline: CallPipeline;
  readonly events: ClientEvents;
}

const pipelineFor = (name: string, layer: number, telemetry: ClientOptions['telemetry']) =>
  noopPipeline(name, LAYERS[layer]!.options(), telemetry, okAtOnce);

async function timeCalls(c: Candidate, calls: number): Promise<number> {
  const { pipeline, client } = c;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await pipeline.execute(newCall(client));
  return Number(process.hrtime.bigint() - t0) / calls;
}

/**
 * Each layer's steady state is its no-wait path: a separate pipeline per layer (telemetry
 * off, a `rateLimit` listener) warmed up as the timed ones are, then `VERIFY_CALLS` calls
 * counted. The quota reports its slower path (no permit at hand: a lease first, resolved
 * without a timer) as a grant with a wait of a few µs; a real wait sleeps at least 1 ms.
 */
async function checkNoWaits(): Promise<string[]> {
  const lines: string[] = [];
  for (let layer = 1; layer < LAYERS.length; layer++) {
    const client = `verify-${layer}`;
    const { events, pipeline } = pipelineFor(client, layer, TELEMETRY[1].telemetry);
    for (let i = 0; i < 20_000; i++) await pipeline.execute(newCall(client));
    let slower = 0;
    let waited = 0;
    let refused = 0;
    let errors = 0;
    events.rateLimit.event((e) => {
      if (e.rejected !== undefined) refused++;
      else if (e.waitMs >= 0.5) waited++;
      else if (e.waitMs > 0) slower++;
    });
    for (let i = 0; i < VERIFY_CALLS; i++) {
      const outcome = await pipeline.execute(newCall(client));
      if (outcome.kind !== 'response') errors++;
    }
    await pipeline.close(() => new Error('bench done'));
    lines.push(
      `${LAYERS[layer]!.name}: ${waited} waited ≥ 0.5 ms, ${slower} granted after a lease (< 0.5 ms), ${refused} refused, ${errors} errors`,
    );
    if (waited + refused + errors > 0) {
      throw new Error(`${lines.at(-1)}: not the no-wait path, the figures would mean nothing`);
    }
  }
  return lines;
}

async function perCallCost(): Promise<string> {
  const verified = await checkNoWaits();
  const candidates: Candidate[] = [];
  for (const t of TELEMETRY) {
    for (let layer = 0; layer < LAYERS.length; layer++) {
      const client = `bench-${layer}-${t.name}`;
      candidates.push({
        layer,
        telemetry: t.name,
        client,
        ...pipelineFor(client, layer, t.telemetry),
      });
    }
  }
  // As bench/micro.ts: under traffic the attempt timeouts' 10 s timer list is never empty.
  const timerListKeeper = setInterval(() => {}, 10_000);
  const gc = (globalThis as { gc?: () => void }).gc;
  for (const c of candidates) await timeCalls(c, 20_000); // warm-up, JIT
  const ns = new Map<Candidate, number[]>(candidates.map((c) => [c, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[(i + round * 3) % candidates.length]!;
      gc?.();
      ns.get(c)!.push(await timeCalls(c, CALLS));
    }
  }
  clearInterval(timerListKeeper);
  for (const c of candidates) await c.pipeline.close(() => new Error('bench done'));

  const baselineOf = (t: string) => candidates.find((c) => c.layer === 0 && c.telemetry === t)!;
  const figures = (c: Candidate) => {
    const base = ns.get(baselineOf(c.telemetry))!;
    const mine = ns.get(c)!;
    return {
      ns: median(mine),
      over: median(mine.map((v, r) => v - base[r]!)),
      ratio: median(mine.map((v, r) => v / base[r]!)),
      spread: `${Math.min(...mine.map((v, r) => v / base[r]!)).toFixed(2)}–${Math.max(...mine.map((v, r) => v / base[r]!)).toFixed(2)}`,
    };
  };
  const lines = [
    `Per-call time around a no-op transport (a sequential loop without I/O: the main thread's CPU): ${CALLS} sequential calls × ${ROUNDS} rounds per pipeline, alternating; ratio = median of per-round ratios to the same pipeline without the layer (range in brackets). Node ${process.version}.`,
    '',
    '| layer | telemetry on (default): ns/call | over baseline | ratio | telemetry off (diagnostic): ns/call | over baseline | ratio |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (let layer = 0; layer < LAYERS.length; layer++) {
    const on = figures(candidates.find((c) => c.layer === layer && c.telemetry === 'on')!);
    const off = figures(candidates.find((c) => c.layer === layer && c.telemetry === 'off')!);
    const cell = (f: ReturnType<typeof figures>) =>
      `${f.ns.toFixed(0)} | ${f.over >= 0 ? '+' : ''}${f.over.toFixed(0)} ns | **${f.ratio.toFixed(2)}** (${f.spread})`;
    lines.push(`| ${LAYERS[layer]!.name} | ${cell(on)} | ${cell(off)} |`);
  }
  lines.push(
    '',
    `No-wait check (${VERIFY_CALLS} calls each, telemetry off, a rateLimit listener): ${verified.join('; ')}.`,
  );
  return lines.join('\n');
}

// ── 2: the fleet quota's Redis commands per call ─────────────────────────────────────

interface FleetRun {
  readonly apiUrl: string;
  readonly redisUrl: string;
  readonly key: string;
  /** Permits per second for the whole fleet. */
  readonly limit: number;
  readonly callsPerSecond: number;
  readonly maxWaitMs: number;
  /** `Date.now()` at which every instance starts calling. */
  readonly startAt: number;
  readonly durationMs: number;
}

interface FleetReport {
  readonly sent: number;
  /** `200`, or an error's `code:reason`. */
  readonly outcomes: Record<string, number>;
  /** The quota's leases as the instance saw them, `source:result`. */
  readonly leases: Record<string, number>;
  /** Permits asked for and granted over all leases. */
  readonly requested: number;
  readonly granted: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** One instance of the fleet (a forked process): one client, calls at a fixed rate. */
async function fleetWorker(): Promise<void> {
  const run = await new Promise<FleetRun>((resolve) => {
    process.once('message', (message) => resolve(message as FleetRun));
    process.send?.('ready');
  });
  const store = redisTokenStore({ url: run.redisUrl, keyPrefix: 'bench-admission:' });
  const client = createClient({
    name: 'fleet',
    baseUrl: run.apiUrl,
    quota: { key: run.key, limit: run.limit, store, maxWaitMs: run.maxWaitMs },
  });
  const outcomes: Record<string, number> = {};
  const leases: Record<string, number> = {};
  const count = (into: Record<string, number>, key: string) => {
    into[key] = (into[key] ?? 0) + 1;
  };
  let requested = 0;
  let granted = 0;
  client.events.quotaLease.event((e) => {
    count(leases, `${e.source}:${e.result}`);
    requested += e.requested;
    granted += e.granted;
  });
  const call = async () => {
    try {
      const response = await client.fetch('/quota');
      await response.text();
      count(outcomes, String(response.status));
    } catch (error) {
      const { code, reason } = error as { code?: string; reason?: string };
      count(outcomes, reason ? `${code}:${reason}` : (code ?? 'unknown'));
    }
  };
  await sleep(run.startAt - Date.now());
  const periodMs = 1000 / run.callsPerSecond;
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i * periodMs < run.durationMs; i++) {
    await sleep(started + i * periodMs - performance.now());
    pending.push(call());
  }
  await Promise.all(pending);
  await client.close();
  const report: FleetReport = { sent: pending.length, outcomes, leases, requested, granted };
  process.send?.(report, () => process.exit(0));
}

interface Scenario {
  readonly name: string;
  /** The quota's key: letters, digits, "_", ".", ":" or "-". */
  readonly key: string;
  readonly limit: number;
  readonly maxWaitMs: number;
}

interface Api {
  readonly url: string;
  /** `Date.now()` of every request received. */
  readonly arrivals: number[];
  close(): Promise<void>;
}

async function startApi(): Promise<Api> {
  const arrivals: number[] = [];
  const server = createServer((request, response) => {
    arrivals.push(Date.now());
    request.resume();
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type CommandStats = Record<string, number>;
const SCRIPT_COMMANDS = ['evalsha', 'eval'];
const scripts = (s: CommandStats) => SCRIPT_COMMANDS.reduce((n, c) => n + (s[c] ?? 0), 0);
const others = (s: CommandStats) =>
  Object.entries(s)
    .filter(([c]) => c !== 'info' && !SCRIPT_COMMANDS.includes(c))
    .reduce((n, [, calls]) => n + calls, 0);

/** The most arrivals in any `windowMs` (timestamps in order). */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  for (let first = 0, last = 0; last < times.length; last++) {
    while (times[last]! - times[first]! >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

async function runFleet(
  scenario: Scenario,
  redis: { url: string; commandStats(): Promise<CommandStats> },
  api: Api,
): Promise<string> {
  api.arrivals.length = 0;
  const self = fileURLToPath(import.meta.url);
  const workers = Array.from({ length: INSTANCES }, () =>
    fork(self, ['fleet-worker'], { execArgv: ['--import', 'tsx'] }),
  );
  try {
    return await measureFleet(scenario, redis, api, workers);
  } finally {
    for (const worker of workers) {
      if (worker.exitCode === null && worker.signalCode === null) worker.kill();
    }
  }
}

async function measureFleet(
  scenario: Scenario,
  redis: { url: string; commandStats(): Promise<CommandStats> },
  api: Api,
  workers: readonly ChildProcess[],
): Promise<string> {
  await Promise.all(
    workers.map((worker) => new Promise((resolve) => worker.once('message', resolve))),
  );
  const before = await redis.commandStats();
  const startAt = Date.now() + 200;
  const durationMs = WARMUP_MS + MEASURE_MS;
  const reports = workers.map(
    (worker) =>
      new Promise<FleetReport>((resolve, reject) => {
        worker.once('message', (m) => resolve(m as FleetReport));
        worker.once('exit', (code) => reject(new Error(`fleet worker exited with ${code}`)));
      }),
  );
  const run: Omit<FleetRun, 'key'> = {
    apiUrl: api.url,
    redisUrl: redis.url,
    limit: scenario.limit,
    callsPerSecond: RATE,
    maxWaitMs: scenario.maxWaitMs,
    startAt,
    durationMs,
  };
  for (const worker of workers) worker.send({ ...run, key: scenario.key });
  await sleep(startAt + WARMUP_MS - Date.now());
  const windowStart = Date.now();
  const atStart = await redis.commandStats();
  await sleep(startAt + durationMs - Date.now());
  const windowEnd = Date.now();
  const atEnd = await redis.commandStats();
  const done = await Promise.all(reports);
  const after = await redis.commandStats();

  const sum = (pick: (r: FleetReport) => Record<string, number>) => {
    const total: Record<string, number> = {};
    for (const r of done) {
      for (const [k, n] of Object.entries(pick(r))) total[k] = (total[k] ?? 0) + n;
    }
    return total;
  };
  const sent = done.reduce((n, r) => n + r.sent, 0);
  const outcomes = sum((r) => r.outcomes);
  const leases = sum((r) => r.leases);
  const received = api.arrivals.length;
  const steady = api.arrivals.filter((t) => t >= windowStart && t < windowEnd);
  const inWindow = steady.length;
  const windowS = (windowEnd - windowStart) / 1000;
  const scriptsAll = scripts(after) - scripts(before);
  const scriptsWindow = scripts(atEnd) - scripts(atStart);
  const perCall = (commands: number, calls: number) =>
    calls === 0 ? '—' : `${(commands / calls).toFixed(3)} (1 per ${(calls / commands).toFixed(1)})`;
  const list = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort()
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ');
  const leaseCount = Object.values(leases).reduce((a, b) => a + b, 0);
  const okLeases = Object.entries(leases)
    .filter(([k]) => k.endsWith(':ok'))
    .reduce((n, [, c]) => n + c, 0);
  const requested = done.reduce((n, r) => n + r.requested, 0);
  const granted = done.reduce((n, r) => n + r.granted, 0);
  const otherCommands: Record<string, number> = {};
  for (const [command, calls] of Object.entries(after)) {
    const n = calls - (before[command] ?? 0);
    if (n > 0 && command !== 'info' && !SCRIPT_COMMANDS.includes(command)) {
      otherCommands[command] = n;
    }
  }
  const rate = inWindow / windowS;
  return [
    `| ${scenario.name}`,
    `${INSTANCES * RATE}/s (${INSTANCES} × ${RATE})`,
    `${scenario.limit}/s`,
    `${sent}`,
    `${received}`,
    `${scriptsAll}`,
    `**${perCall(scriptsAll, received)}**`,
    `${scriptsWindow} / ${inWindow}`,
    `**${perCall(scriptsWindow, inWindow)}**`,
    `${rate.toFixed(1)}/s (${((rate / scenario.limit) * 100).toFixed(0)} % of the limit)`,
    `${maxInWindow(api.arrivals, 1000)} / ${maxInWindow(steady, 1000)}`,
    `${list(outcomes)}`,
    `${list(leases)}; ${(requested / leaseCount).toFixed(1)} permits asked per lease, ${(granted / okLeases).toFixed(1)} granted per ok lease`,
    `${others(after) - others(before)} (${list(otherCommands)}) |`,
  ].join(' | ');
}

async function fleetCommands(): Promise<string> {
  const { startRedis } = await import('../test/helpers/redis.js');
  const [redis, api] = await Promise.all([startRedis(), startApi()]);
  const version = (await redis.cli('INFO', 'server')).match(/redis_version:(\S+)/)?.[1];
  const demand = INSTANCES * RATE;
  const scenarios: Scenario[] = [
    // maxWaitMs bounds the waits of a saturated fleet: without it they queue up to the deadline.
    { name: 'quota well above demand', key: 'above', limit: demand * 10, maxWaitMs: 1000 },
    {
      name: 'saturated (demand 2× the quota)',
      key: 'saturated',
      limit: demand / 2,
      maxWaitMs: 1000,
    },
  ];
  const rows: string[] = [];
  try {
    for (const scenario of scenarios) rows.push(await runFleet(scenario, redis, api));
  } finally {
    await Promise.all([api.close(), redis.stop()]);
  }
  return [
    `Fleet quota, Redis commands per call: ${INSTANCES} instances, each its own process with its own client and redisTokenStore, ${RATE} calls/s each (open loop) for ${(WARMUP_MS + MEASURE_MS) / 1000} s against a loopback HTTP server; private redis-server ${version}; quota leaseMs default (300), burst 1, maxWaitMs 1000; telemetry default. Scripts = evalsha + eval from INFO commandstats (one round trip each; commandstats also counts the commands a script runs inside, listed in the last column); steady window = the last ${MEASURE_MS / 1000} s (after a ${WARMUP_MS / 1000} s warm-up), calls = requests the server received in it.`,
    '',
    '| setting | demand | quota | calls made | received by the server | scripts, whole run | scripts per received call, whole run | steady window: scripts / calls | scripts per call, steady | achieved rate, steady | most in any 1 s: whole run / steady | outcomes | leases seen by the instances | commands the scripts ran inside, whole run |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  if (PARTS.includes('1')) process.stdout.write(`\n${await perCallCost()}\n`);
  if (PARTS.includes('2')) process.stdout.write(`\n${await fleetCommands()}\n`);
  process.stdout.write(`\n(admission: ${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
}

if (process.argv[2] === 'fleet-worker') await fleetWorker();
else await main();

/**
 * The newer strategies: what hedging (configured, not firing), fallback (passing a good
 * answer through; serve-stale recording it), the adaptive concurrency limit and adaptive
 * throttling cost per call, and how each layer compares with cockatiel's nearest policy.
 *
 * 1. Through the client's whole pipeline (bench/admission.ts's approach: `buildCallPipeline`
 *    with a transport that answers 200 at once with a small JSON body, a fresh `Call` per
 *    call as the client builds it, the body read whole as a caller would): each
 *    configuration against the standard pipeline without it, in the same rounds,
 *    alternating; ratio = median of the per-round ratios. The adaptive limiter's baseline is
 *    the fixed limiter it replaces (the standard pipeline has it). Nothing fires: a pass
 *    before the timing counts hedges sent, fallbacks served, throttled and refused attempts
 *    (listeners on the client's events) and must find none. Telemetry on (the default:
 *    prom-client metrics, tracing with no provider) is the headline; off is a diagnostic.
 * 2. Each layer alone around the same no-op `next` (a fresh `Call` per call, the body read),
 *    beside cockatiel's nearest policy around the same function, in the same rounds; each
 *    row's ratio is to the bare call. No telemetry on either side (no listeners). Where
 *    cockatiel has no equivalent, the row says so.
 *
 *   node --import tsx bench/strategies.ts     (or: npm run bench -- strategies)
 *   STRATEGIES_CALLS=50000 STRATEGIES_ROUNDS=15 STRATEGIES_PARTS=1,2 STRATEGIES_TIMER_LISTS=1
 *
 * It measures the built package (dist/): `npm run build` first (`npm run bench` does).
 */
import { readFileSync } from 'node:fs';
import {
  bulkhead,
  ConsecutiveBreaker,
  circuitBreaker,
  fallback,
  handleAll,
  SamplingBreaker,
} from 'cockatiel';
import type { CallPipeline } from '../packages/steadfast/dist/call-pipeline.js';
import { resolveOptions } from '../packages/steadfast/dist/config/validate.js';
import type { ClientOptions } from '../packages/steadfast/dist/index.js';
import { ClientEvents } from '../packages/steadfast/dist/pipeline/client-events.js';
import type {
  Next,
  Outcome,
  ResponseBody,
  Strategy,
} from '../packages/steadfast/dist/pipeline/types.js';
import { AdaptiveConcurrencyLimiter } from '../packages/steadfast/dist/strategies/adaptive-concurrency/index.js';
import { AdaptiveThrottle } from '../packages/steadfast/dist/strategies/adaptive-throttle/index.js';
import { ConcurrencyLimiter } from '../packages/steadfast/dist/strategies/concurrency-limiter.js';
import { Fallback } from '../packages/steadfast/dist/strategies/fallback/index.js';
import { Hedging } from '../packages/steadfast/dist/strategies/hedging/index.js';
import { median } from '../src/loadtest/percentile.js';
import { newCall, noopPipeline, TELEMETRY, type TelemetrySetting } from './no-op-pipeline.js';

const CALLS = Number(process.env.STRATEGIES_CALLS ?? 50_000);
const ROUNDS = Number(process.env.STRATEGIES_ROUNDS ?? 15);
const VERIFY_CALLS = 100_000;
const PARTS = (process.env.STRATEGIES_PARTS ?? '1,2').split(',');

// ── what every candidate calls: a no-op transport with a small JSON answer ───────────────

const PAYLOAD = Buffer.from(
  JSON.stringify([{ date: '2026-12-05', temperatureC: 12, summary: 'Mild' }]),
  'utf8',
);

/** A body already in memory: what a small answer off the wire gives a caller that reads it. */
class SmallJsonBody implements ResponseBody {
  readonly contentType = 'application/json';
  bodyUsed = false;
  #finished: (() => void) | undefined;

  #take(): Uint8Array<ArrayBuffer> {
    this.bodyUsed = true;
    const bytes = new Uint8Array(PAYLOAD.length);
    bytes.set(PAYLOAD);
    this.#finished?.();
    this.#finished = undefined;
    return bytes;
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(this.#take().buffer);
  }
  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return Promise.resolve(this.#take());
  }
  text(): Promise<string> {
    return Promise.resolve(Buffer.from(this.#take()).toString('utf8'));
  }
  json(): Promise<unknown> {
    return this.text().then((text) => JSON.parse(text));
  }
  blob(): Promise<Blob> {
    return Promise.resolve(new Blob([this.#take()], { type: this.contentType }));
  }
  stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const bytes = this.#take();
    return new ReadableStream({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    yield Buffer.from(this.#take());
  }
  dump(): Promise<void> {
    this.#take();
    return Promise.resolve();
  }
  destroy(): void {
    this.bodyUsed = true;
    this.#finished?.();
    this.#finished = undefined;
  }
  onFinished(callback: () => void): void {
    if (this.bodyUsed) callback();
    else this.#finished = callback;
  }
}

const HEADERS = {
  'content-type': 'application/json',
  'content-length': String(PAYLOAD.length),
};
/** A fresh answer per call (a body is read once), cacheable by serve-stale. */
const okAtOnce = async (): Promise<Outcome> => ({
  kind: 'response',
  response: { status: 200, statusText: 'OK', headers: HEADERS, body: new SmallJsonBody() },
});
const noopNext: Next = okAtOnce;

/** What a caller does with an answer: read the body whole (an error has none). */
async function consume(outcome: Outcome): Promise<Outcome> {
  if (outcome.kind === 'response') await outcome.response.body.arrayBuffer();
  return outcome;
}

const gc = (globalThis as { gc?: () => void }).gc;
const ratio = (mine: readonly number[], base: readonly number[]) =>
  mine.map((v, r) => v / base[r]!);
const spread = (values: readonly number[]) =>
  `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;

/**
 * As bench/micro.ts: under traffic, other calls' timers keep Node's timer lists alive. In a
 * sequential loop each clearTimeout would empty and drop a list and the next setTimeout
 * rebuild it: keep the lists the layers use alive (attempt timeouts of 10 s; a learnt hedge
 * delay of 1 ms, its floor, which a no-op's durations give; 2 s before it is learnt).
 * `STRATEGIES_TIMER_LISTS=0` keeps none (a lone sequential caller's case).
 */
function keepTimerListsAlive(): () => void {
  const lists = process.env.STRATEGIES_TIMER_LISTS === '0' ? [] : [10_000, 2_000, 1];
  const keepers = lists.map((ms) => setInterval(() => {}, ms));
  return () => {
    for (const keeper of keepers) clearInterval(keeper);
  };
}

// ── 1: through the pipeline ─────────────────────────────────────────────────────────────

type StrategyOptions = Pick<
  ClientOptions,
  'hedging' | 'fallback' | 'concurrency' | 'adaptiveThrottle'
>;

/** Each configuration; `base` names the row it is compared with (the standard pipeline). */
const CONFIGS: readonly {
  readonly name: string;
  readonly compares: string;
  readonly options: () => StrategyOptions;
}[] = [
  {
    name: 'standard pipeline (baseline)',
    compares: 'fixed concurrency limit (1 000), deadline, retry + budget, breaker, timeouts',
    options: () => ({}),
  },
  {
    name: '`hedging: {}` (learnt delay, not firing)',
    compares: 'the same, plus the hedging layer; every answer comes long before the hedge delay',
    options: () => ({ hedging: {} }),
  },
  {
    name: '`fallback: { serveStale: false, handler }` (pass-through)',
    compares: 'the same, plus a fallback layer that only looks at each outcome and passes it on',
    options: () => ({ fallback: { serveStale: false, handler: () => undefined } }),
  },
  {
    name: '`fallback: {}` (serve-stale: records every answer)',
    compares:
      'the same, plus serve-stale: each 200 is recorded as its body is read and replaces the entry of its key',
    options: () => ({ fallback: {} }),
  },
  {
    name: '`concurrency: { adaptive: {} }` (gradient)',
    compares: 'the adaptive limit per origin in place of the fixed limit',
    options: () => ({ concurrency: { adaptive: {} } }),
  },
  {
    name: "`concurrency: { adaptive: { algorithm: 'aimd' } }`",
    compares: 'the AIMD limit per origin in place of the fixed limit',
    options: () => ({ concurrency: { adaptive: { algorithm: 'aimd' } } }),
  },
  {
    name: '`adaptiveThrottle: {}` (no refusals)',
    compares: 'the same, plus adaptive throttling, which counts every attempt and refuses none',
    options: () => ({ adaptiveThrottle: {} }),
  },
  {
    name: 'all four (hedging, serve-stale, gradient limit, throttle)',
    compares: 'the same, with all four',
    options: () => ({
      hedging: {},
      fallback: {},
      concurrency: { adaptive: {} },
      adaptiveThrottle: {},
    }),
  },
];

interface PipelineCandidate {
  readonly config: number;
  readonly telemetry: TelemetrySetting;
  readonly client: string;
  readonly pipeline: CallPipeline;
  readonly events: ClientEvents;
}

const pipelineFor = (name: string, config: number, telemetry: ClientOptions['telemetry']) =>
  noopPipeline(name, CONFIGS[config]!.options(), telemetry, okAtOnce);

async function timePipeline(c: PipelineCandidate, calls: number): Promise<number> {
  const { pipeline, client } = c;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await consume(await pipeline.execute(newCall(client)));
  return Number(process.hrtime.bigint() - t0) / calls;
}

/** Nothing fires on the timed path: every configuration counted over `VERIFY_CALLS` calls. */
async function checkNothingFires(): Promise<string[]> {
  const lines: string[] = [];
  const release = keepTimerListsAlive();
  try {
    for (let config = 1; config < CONFIGS.length; config++) {
      const client = `verify-${config}`;
      const { events, pipeline } = pipelineFor(client, config, TELEMETRY[1].telemetry);
      for (let i = 0; i < 20_000; i++) await consume(await pipeline.execute(newCall(client)));
      const counts = { hedges: 0, fallbacks: 0, throttled: 0, refused: 0, errors: 0 };
      events.hedge.event((e) => {
        if (!e.skipped) counts.hedges++;
      });
      events.fallback.event(() => counts.fallbacks++);
      events.throttle.event(() => counts.throttled++);
      events.limiter.event((e) => {
        if ((e as { rejected?: boolean }).rejected) counts.refused++;
      });
      for (let i = 0; i < VERIFY_CALLS; i++) {
        const outcome = await consume(await pipeline.execute(newCall(client)));
        if (outcome.kind !== 'response' || outcome.response.status !== 200) counts.errors++;
      }
      await pipeline.close(() => new Error('bench done'));
      lines.push(
        `${CONFIGS[config]!.name}: ${counts.hedges} hedges sent, ${counts.fallbacks} fallbacks, ${counts.throttled} throttled, ${counts.refused} refused by the limiter, ${counts.errors} errors`,
      );
      if (counts.fallbacks + counts.throttled + counts.refused + counts.errors > 0) {
        throw new Error(`${lines.at(-1)}: not the quiet path, the figures would mean nothing`);
      }
    }
  } finally {
    release();
  }
  return lines;
}

async function pipelineCost(): Promise<string> {
  const verified = await checkNothingFires();
  const candidates: PipelineCandidate[] = [];
  for (const t of TELEMETRY) {
    for (let config = 0; config < CONFIGS.length; config++) {
      const client = `bench-${config}-${t.name}`;
      candidates.push({
        config,
        telemetry: t.name,
        client,
        ...pipelineFor(client, config, t.telemetry),
      });
    }
  }
  let hedgesWhileTimed = 0;
  for (const c of candidates) {
    c.events.hedge.event((e) => {
      if (!e.skipped) hedgesWhileTimed++;
    });
  }
  const release = keepTimerListsAlive();
  for (const c of candidates) await timePipeline(c, 20_000); // warm-up, JIT
  const ns = new Map<PipelineCandidate, number[]>(candidates.map((c) => [c, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[(i + round * 3) % candidates.length]!;
      gc?.();
      ns.get(c)!.push(await timePipeline(c, CALLS));
    }
  }
  release();
  for (const c of candidates) await c.pipeline.close(() => new Error('bench done'));

  const baselineOf = (t: string) => candidates.find((c) => c.config === 0 && c.telemetry === t)!;
  const figures = (c: PipelineCandidate) => {
    const base = ns.get(baselineOf(c.telemetry))!;
    const mine = ns.get(c)!;
    const ratios = ratio(mine, base);
    return {
      ns: median(mine),
      over: median(mine.map((v, r) => v - base[r]!)),
      ratio: median(ratios),
      spread: spread(ratios),
    };
  };
  const lines = [
    `Per-call time through the pipeline around a no-op transport (a sequential loop without I/O: the main thread's CPU), the body read whole: ${CALLS} calls × ${ROUNDS} rounds per pipeline, alternating; ratio = median of per-round ratios to the standard pipeline (range in brackets). Node ${process.version}.`,
    '',
    '| configuration | compared with the baseline | telemetry on (default): ns/call | over baseline | ratio | telemetry off: ns/call | over baseline | ratio |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (let config = 0; config < CONFIGS.length; config++) {
    const on = figures(candidates.find((c) => c.config === config && c.telemetry === 'on')!);
    const off = figures(candidates.find((c) => c.config === config && c.telemetry === 'off')!);
    const cell = (f: ReturnType<typeof figures>) =>
      `${f.ns.toFixed(0)} | ${f.over >= 0 ? '+' : ''}${f.over.toFixed(0)} ns | **${f.ratio.toFixed(2)}** (${f.spread})`;
    lines.push(
      `| ${CONFIGS[config]!.name} | ${CONFIGS[config]!.compares} | ${cell(on)} | ${cell(off)} |`,
    );
  }
  lines.push(
    '',
    `Quiet-path check (${VERIFY_CALLS} calls each after 20 000, telemetry off, listeners on the events): ${verified.join('; ')}.`,
    `Hedges sent during the timed rounds (all pipelines): ${hedgesWhileTimed}.`,
  );
  return lines.join('\n');
}

// ── 2: each layer alone, beside cockatiel's nearest ─────────────────────────────────────

interface LayerRow {
  readonly name: string;
  readonly steadfast: (() => Promise<unknown>) | undefined;
  readonly cockatielName: string;
  readonly cockatiel: (() => Promise<unknown>) | undefined;
}

function layerRows(): { rows: LayerRow[]; dispose: () => void } {
  const options = resolveOptions({
    name: 'bench',
    telemetry: { metrics: false, tracing: false },
    hedging: {},
    fallback: {},
    concurrency: { adaptive: {} },
    adaptiveThrottle: {},
  } as ClientOptions);
  const passThrough = resolveOptions({
    name: 'bench',
    telemetry: { metrics: false, tracing: false },
    fallback: { serveStale: false, handler: () => undefined },
    concurrency: { adaptive: { algorithm: 'aimd' } },
  } as ClientOptions);
  const events = new ClientEvents();
  const layer = (strategy: Strategy) => () =>
    strategy.execute(newCall('bench'), noopNext).then(consume);
  const around = (policy: { execute: (fn: () => Promise<Outcome>) => Promise<Outcome> }) => () =>
    policy.execute(() => noopNext(newCall('bench'))).then(consume);
  const on = <T>(section: T | false): T => {
    if (section === false) throw new Error('bench: a section the options turn on is off');
    return section;
  };

  const fixed = new ConcurrencyLimiter(1000, 0, events, 'bench');
  const gradient = new AdaptiveConcurrencyLimiter(
    on(options.concurrency.adaptive),
    0,
    events,
    'bench',
  );
  const aimd = new AdaptiveConcurrencyLimiter(
    on(passThrough.concurrency.adaptive),
    0,
    events,
    'bench',
  );
  const throttle = new AdaptiveThrottle(on(options.adaptiveThrottle), events);
  const fallbackPass = new Fallback(on(passThrough.fallback), events, undefined);
  const fallbackStale = new Fallback(on(options.fallback), events, undefined);
  const hedging = new Hedging(on(options.hedging), events);
  const ok = (): Outcome => ({
    kind: 'response',
    response: { status: 200, headers: HEADERS, body: new SmallJsonBody() },
  });

  const rows: LayerRow[] = [
    {
      name: 'bare call (baseline): `next(newCall())`, body read',
      steadfast: () => noopNext(newCall('bench')).then(consume),
      cockatielName: '(the same bare call)',
      cockatiel: undefined,
    },
    {
      name: 'fixed concurrency limiter (1 000, no queue)',
      steadfast: layer(fixed),
      cockatielName: '`bulkhead(1000, 0)`',
      cockatiel: around(bulkhead(1000, 0)),
    },
    {
      name: 'adaptive concurrency limiter, gradient (defaults)',
      steadfast: layer(gradient),
      cockatielName: '`bulkhead(1000, 0)` (nearest: a fixed limit; cockatiel has no adaptive one)',
      cockatiel: around(bulkhead(1000, 0)),
    },
    {
      name: 'adaptive concurrency limiter, AIMD',
      steadfast: layer(aimd),
      cockatielName: '`bulkhead(1000, 0)` (as above)',
      cockatiel: around(bulkhead(1000, 0)),
    },
    {
      name: 'adaptive throttle (defaults; refuses nothing)',
      steadfast: layer(throttle),
      cockatielName:
        '`circuitBreaker(handleAll, SamplingBreaker 10 % / 30 s)` (nearest: sheds load after failures; not a throttle)',
      cockatiel: around(
        circuitBreaker(handleAll, {
          halfOpenAfter: 5_000,
          breaker: new SamplingBreaker({ threshold: 0.1, duration: 30_000 }),
        }),
      ),
    },
    {
      name: '(adaptive throttle, second nearest)',
      steadfast: undefined,
      cockatielName: '`circuitBreaker(handleAll, ConsecutiveBreaker 5)`',
      cockatiel: around(
        circuitBreaker(handleAll, { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(5) }),
      ),
    },
    {
      name: 'fallback, pass-through (`handler`, no serve-stale)',
      steadfast: layer(fallbackPass),
      cockatielName: '`fallback(handleAll, () => answer)`',
      cockatiel: around(fallback(handleAll, ok)),
    },
    {
      name: 'fallback, serve-stale (records every answer as it is read)',
      steadfast: layer(fallbackStale),
      cockatielName: "none (cockatiel's fallback returns a value; it keeps no last good answer)",
      cockatiel: undefined,
    },
    {
      name: 'hedging, learnt delay (not firing)',
      steadfast: layer(hedging),
      cockatielName: 'none (no hedging in cockatiel; Polly v8 has it, in .NET)',
      cockatiel: undefined,
    },
  ];
  return {
    rows,
    dispose: () => {
      void fixed.dispose?.();
      void gradient.dispose?.();
      void aimd.dispose?.();
      void fallbackPass.dispose?.();
      void fallbackStale.dispose?.();
      void hedging.dispose?.();
    },
  };
}

async function timeRun(run: () => Promise<unknown>, calls: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await run();
  return Number(process.hrtime.bigint() - t0) / calls;
}

async function layerCost(): Promise<string> {
  const { rows, dispose } = layerRows();
  const runs: { key: string; run: () => Promise<unknown> }[] = [];
  rows.forEach((row, i) => {
    if (row.steadfast) runs.push({ key: `s${i}`, run: row.steadfast });
    if (row.cockatiel) runs.push({ key: `c${i}`, run: row.cockatiel });
  });
  const release = keepTimerListsAlive();
  for (const r of runs) await timeRun(r.run, 20_000); // warm-up, JIT
  const ns = new Map<string, number[]>(runs.map((r) => [r.key, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < runs.length; i++) {
      const r = runs[(i + round * 3) % runs.length]!;
      gc?.();
      ns.get(r.key)!.push(await timeRun(r.run, CALLS));
    }
  }
  release();
  dispose();
  const base = ns.get('s0')!;
  const cell = (key: string) => {
    const mine = ns.get(key);
    if (mine === undefined) return '— | — | —';
    const ratios = ratio(mine, base);
    const over = median(mine.map((v, r) => v - base[r]!));
    return `${median(mine).toFixed(0)} | ${over >= 0 ? '+' : ''}${over.toFixed(0)} ns | **${median(ratios).toFixed(2)}** (${spread(ratios)})`;
  };
  const lines = [
    `Each layer alone around a no-op \`next\` (a fresh \`Call\` per call, the body read whole), beside cockatiel's nearest policy around the same function: ${CALLS} calls × ${ROUNDS} rounds, alternating; ratio = median of per-round ratios to the bare call (range in brackets). No telemetry on either side. Node ${process.version}, cockatiel ${cockatielVersion()}.`,
    '',
    '| Steadfast layer | ns/call | over bare | ratio | cockatiel equivalent | ns/call | over bare | ratio |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  rows.forEach((row, i) => {
    lines.push(`| ${row.name} | ${cell(`s${i}`)} | ${row.cockatielName} | ${cell(`c${i}`)} |`);
  });
  return lines.join('\n');
}

function cockatielVersion(): string {
  try {
    const file = new URL('../node_modules/cockatiel/package.json', import.meta.url);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  if (PARTS.includes('1')) process.stdout.write(`\n${await pipelineCost()}\n`);
  if (PARTS.includes('2')) process.stdout.write(`\n${await layerCost()}\n`);
  process.stdout.write(`\n(strategies: ${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
}

await main();

/**
 * Micro benchmark: each Steadfast strategy around a no-op async "next", against calling the
 * no-op directly; cockatiel and opossum around the same no-op, in the same run, alternating.
 *
 *   node --import tsx bench/micro.ts        (or: npm run bench -- micro)
 *   MICRO_CALLS=200000 MICRO_ROUNDS=5
 *
 * Every candidate builds a fresh call context per call (as the client does), so the figure
 * over the baseline is the strategy's own cost. Reports ns per call (median of rounds) and
 * the overhead over the bare call.
 *
 * It measures the built package (dist/): `npm run build` first (`npm run bench` does).
 */
import { pathToFileURL } from 'node:url';
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  SamplingBreaker,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import CircuitBreaker from 'opossum';
import { buildCallPipeline } from '../packages/steadfast/dist/call-pipeline.js';
import { resolveOptions } from '../packages/steadfast/dist/config/validate.js';
import { emptyBody } from '../packages/steadfast/dist/http/body.js';
import { ClientEvents } from '../packages/steadfast/dist/pipeline/client-events.js';
import type {
  CallContext,
  Next,
  Outcome,
  Strategy,
} from '../packages/steadfast/dist/pipeline/types.js';
import { AttemptTimeout } from '../packages/steadfast/dist/strategies/attempt-timeout.js';
import { PerOriginCircuitBreaker } from '../packages/steadfast/dist/strategies/circuit-breaker.js';
import { ConcurrencyLimiter } from '../packages/steadfast/dist/strategies/concurrency-limiter.js';
import { Deadline } from '../packages/steadfast/dist/strategies/deadline.js';
import { Retry } from '../packages/steadfast/dist/strategies/retry/index.js';
import { median } from '../src/loadtest/percentile.js';

const URL_ = new URL('http://127.0.0.1:8080/weather');
const OK: Outcome = {
  kind: 'response',
  response: { status: 200, headers: {}, body: null as never },
};
const noopNext: Next = async () => OK;
const noop = async () => 1;

/** A call context like the client builds per call. */
function newContext(): CallContext {
  return {
    client: 'bench',
    method: 'GET',
    url: URL_,
    origin: URL_.origin,
    operation: 'GET',
    path: URL_.pathname,
    headers: {},
    body: emptyBody,
    signal: undefined,
    attemptSignal: undefined,
    idempotent: true,
    startedAt: performance.now(),
    deadline: Number.POSITIVE_INFINITY,
    attempt: 0,
    attempts: 0,
    retryStopReason: undefined,
    overrides: undefined,
    context: {},
    slots: new Map(),
  } as unknown as CallContext;
}

interface Candidate {
  readonly name: string;
  readonly run: () => Promise<unknown>;
}

function strategyCandidate(name: string, strategy: Strategy): Candidate {
  return { name, run: () => strategy.execute(newContext(), noopNext) };
}

function candidates(): { candidates: Candidate[]; dispose: () => void } {
  const options = resolveOptions({ name: 'bench', telemetry: { metrics: false, tracing: false } });
  const events = new ClientEvents();
  const retrySettings = options.retry;
  const breakerSettings = options.circuitBreaker;
  if (!retrySettings || !breakerSettings) throw new Error('defaults must enable retry and breaker');
  const noopTransport = { execute: noopNext, inflight: 0, close: async () => {} };
  const standard = buildCallPipeline(options, events, noopTransport);
  const pipeline = standard.execute;
  const breaker = new PerOriginCircuitBreaker(breakerSettings, events, 'bench');
  const retryStrategy = new Retry(retrySettings, events);

  const cockatielRetry = retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() });
  const cockatielBreaker = circuitBreaker(handleAll, {
    halfOpenAfter: 5_000,
    breaker: new SamplingBreaker({ threshold: 0.1, duration: 30_000 }),
  });
  const cockatielConsecutive = circuitBreaker(handleAll, {
    halfOpenAfter: 5_000,
    breaker: new ConsecutiveBreaker(5),
  });
  const cockatielTimeout = timeout(10_000, TimeoutStrategy.Cooperative);
  const cockatielWrap = wrap(
    retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, {
      halfOpenAfter: 5_000,
      breaker: new SamplingBreaker({ threshold: 0.1, duration: 30_000 }),
    }),
    timeout(10_000, TimeoutStrategy.Cooperative),
  );
  const opossumLean = new CircuitBreaker(noop, {
    timeout: false,
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
  });
  const opossumDefault = new CircuitBreaker(noop);

  const list: Candidate[] = [
    { name: 'bare call (baseline): `await next(newContext())`', run: () => noopNext(newContext()) },
    strategyCandidate(
      'Steadfast concurrency limiter',
      new ConcurrencyLimiter(1000, 0, events, 'bench'),
    ),
    strategyCandidate('Steadfast deadline', new Deadline(options.totalTimeoutMs)),
    strategyCandidate('Steadfast retry (success path)', retryStrategy),
    strategyCandidate('Steadfast circuit breaker (opossum, lean)', breaker),
    strategyCandidate(
      'Steadfast attempt timeout',
      new AttemptTimeout(options.attemptTimeoutMs, events),
    ),
    {
      name: 'Steadfast standard pipeline (all of the above + boundaries)',
      run: () => pipeline(newContext()),
    },
    {
      name: 'cockatiel retry (3, exponential)',
      run: () => cockatielRetry.execute(() => noopNext(newContext())),
    },
    {
      name: 'cockatiel breaker (SamplingBreaker)',
      run: () => cockatielBreaker.execute(() => noopNext(newContext())),
    },
    {
      name: 'cockatiel breaker (ConsecutiveBreaker)',
      run: () => cockatielConsecutive.execute(() => noopNext(newContext())),
    },
    {
      name: 'cockatiel timeout (10 s, cooperative)',
      run: () => cockatielTimeout.execute(() => noopNext(newContext())),
    },
    {
      name: 'cockatiel wrap(retry, breaker, timeout)',
      run: () => cockatielWrap.execute(() => noopNext(newContext())),
    },
    {
      name: 'opossum fire() lean (no timeout/percentiles/snapshots)',
      run: () => opossumLean.fire().then(() => noopNext(newContext())),
    },
    {
      name: 'opossum fire() defaults',
      run: () => opossumDefault.fire().then(() => noopNext(newContext())),
    },
  ];
  return {
    candidates: list,
    dispose: () => {
      void standard.close(() => new Error('bench done'));
      void breaker.dispose?.();
      void retryStrategy.dispose?.();
      opossumLean.shutdown();
      opossumDefault.shutdown();
    },
  };
}

async function timeCalls(run: () => Promise<unknown>, calls: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await run();
  return Number(process.hrtime.bigint() - t0) / calls;
}

export async function runMicro(calls: number, rounds: number): Promise<string> {
  const { candidates: list, dispose } = candidates();
  // Under real traffic other calls' 10 s attempt timers are always pending, so Node keeps
  // the 10 s timer list alive. In a sequential loop each clearTimeout would empty and drop
  // that list and the next setTimeout rebuild it (2–4 µs here instead of ~0.5 µs): keep one
  // 10 s timer alive so timeouts (ours and cockatiel's) are measured as they run in service.
  const timerListKeeper = setInterval(() => {}, 10_000);
  for (const c of list) await timeCalls(c.run, Math.min(calls, 20_000)); // warm-up, JIT
  const ns = new Map<string, number[]>(list.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < list.length; i++) {
      const c = list[(i + round) % list.length]!;
      ns.get(c.name)!.push(await timeCalls(c.run, calls));
    }
  }
  dispose();
  clearInterval(timerListKeeper);
  const base = median(ns.get(list[0]!.name)!);
  const lines = [
    '| wrapper around a no-op async call | ns/call | over the bare call | ratio |',
    '|---|---|---|---|',
  ];
  for (const c of list) {
    const m = median(ns.get(c.name)!);
    lines.push(
      `| ${c.name} | ${m.toFixed(0)} | +${(m - base).toFixed(0)} ns | ${(m / base).toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const calls = Number(process.env.MICRO_CALLS ?? 200_000);
  const rounds = Number(process.env.MICRO_ROUNDS ?? 5);
  const out = await runMicro(calls, rounds);
  process.stdout.write(
    `\nMicro: ${calls} sequential calls × ${rounds} rounds per candidate, alternating; median. Node ${process.version}.\n\n${out}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}

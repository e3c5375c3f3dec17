/**
 * Macro benchmark on loopback: raw undici `request` vs Steadfast's full pipeline vs the peers
 * users would pick instead, against one server in another process, in the same run,
 * alternating rounds, at a fixed concurrency.
 *
 *   node --import tsx bench/macro.ts            (or: npm run bench -- macro)
 *   BENCH_REQUESTS=10000 BENCH_ROUNDS=5 BENCH_CONCURRENCY=64 BENCH_ONLY=undici,steadfast
 *   (BENCH_ONLY filters by name; ratios are to the first row, so keep `undici` in it.)
 *   BENCH_DECOMPOSE=1: raw undici plus Steadfast's per-call pieces one at a time, instead of
 *   the peers (short rounds resist noise: BENCH_REQUESTS=2000 BENCH_ROUNDS=30).
 *
 * Reports requests/s, client CPU per request (`process.cpuUsage()` delta / requests), p50 and
 * p99 latency, and each figure as a ratio to raw undici. Telemetry is off for Steadfast here
 * (bench/telemetry.ts measures it on). Writes bench/results/macro.json too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { pathToFileURL } from 'node:url';
import axios from 'axios';
import axiosRetry from 'axios-retry';
import {
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  SamplingBreaker,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import got from 'got';
import ky from 'ky';
import { Pool } from 'undici';
import { createClient } from '../src/index.js';
import { pinSelfToCpu1, startBenchServer } from './server.js';

/** One way of making a GET and reading its body. */
export interface Contender {
  readonly name: string;
  /** Build the client against `url`; returns one call and a way to release it. */
  setup(url: string): Promise<{ call: () => Promise<unknown>; close: () => Promise<void> }>;
}

const CONNECTIONS = 128; // same keep-alive pool size as Steadfast's default connectionsPerOrigin

export const undiciContender: Contender = {
  name: 'undici request (raw)',
  async setup(url) {
    const pool = new Pool(url, { connections: CONNECTIONS });
    return {
      call: async () => {
        const res = await pool.request({ method: 'GET', path: '/x' });
        return res.body.text();
      },
      close: () => pool.close(),
    };
  },
};

export const steadfastContender: Contender = {
  name: 'Steadfast full pipeline',
  async setup(url) {
    const client = createClient({
      name: 'bench',
      baseUrl: url,
      telemetry: { metrics: false, tracing: false },
    });
    return {
      call: async () => {
        const res = await client.fetch('/x');
        return res.text();
      },
      close: () => client.close(),
    };
  },
};

/** The same full pipeline through `client.request()`: undici's response shape, no WHATWG Response. */
export const steadfastRequestContender: Contender = {
  name: 'Steadfast full pipeline, client.request()',
  async setup(url) {
    const client = createClient({
      name: 'bench-request',
      baseUrl: url,
      telemetry: { metrics: false, tracing: false },
    });
    return {
      call: async () => {
        const res = await client.request('/x');
        return res.body.text();
      },
      close: () => client.close(),
    };
  },
};

const steadfastBareContender: Contender = {
  name: 'Steadfast, retry + breaker off (diagnostic)',
  async setup(url) {
    const client = createClient({
      name: 'bench-bare',
      baseUrl: url,
      retry: false,
      circuitBreaker: false,
      telemetry: { metrics: false, tracing: false },
    });
    return {
      call: async () => {
        const res = await client.fetch('/x');
        return res.text();
      },
      close: () => client.close(),
    };
  },
};

/** Raw undici plus only the conversion to a WHATWG `Response`: what the fetch-compatible API costs by itself. */
const undiciAsResponseContender: Contender = {
  name: 'undici request → new Response() (diagnostic)',
  async setup(url) {
    const pool = new Pool(url, { connections: CONNECTIONS });
    return {
      call: async () => {
        const res = await pool.request({ method: 'GET', path: '/x' });
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (typeof value === 'string') headers.append(name, value);
        }
        const response = new Response(res.body as unknown as ReadableStream, {
          status: res.statusCode,
          headers,
        });
        return response.text();
      },
      close: () => pool.close(),
    };
  },
};

const cockatielContender: Contender = {
  name: 'undici + cockatiel retry/breaker/timeout',
  async setup(url) {
    const pool = new Pool(url, { connections: CONNECTIONS });
    const policy = wrap(
      retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
      circuitBreaker(handleAll, {
        halfOpenAfter: 5_000,
        breaker: new SamplingBreaker({ threshold: 0.1, duration: 30_000 }),
      }),
      timeout(10_000, TimeoutStrategy.Cooperative),
    );
    return {
      call: () =>
        policy.execute(async ({ signal }) => {
          const res = await pool.request({ method: 'GET', path: '/x', signal });
          const text = await res.body.text();
          if (res.statusCode >= 500) throw new Error(`status ${res.statusCode}`);
          return text;
        }),
      close: () => pool.close(),
    };
  },
};

const gotContender: Contender = {
  name: 'got (retry limit 2)',
  async setup(url) {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: CONNECTIONS });
    const client = got.extend({ prefixUrl: url, agent: { http: agent }, retry: { limit: 2 } });
    return {
      call: () => client.get('x').text(),
      close: async () => agent.destroy(),
    };
  },
};

const axiosContender: Contender = {
  name: 'axios + axios-retry (3)',
  async setup(url) {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: CONNECTIONS });
    const instance = axios.create({ baseURL: url, httpAgent: agent, responseType: 'text' });
    axiosRetry(instance, { retries: 3, retryDelay: axiosRetry.exponentialDelay });
    return {
      call: () => instance.get('/x').then((r) => r.data),
      close: async () => agent.destroy(),
    };
  },
};

const kyContender: Contender = {
  name: 'ky (retry limit 2, global fetch)',
  async setup(url) {
    const api = ky.create({ prefixUrl: url, retry: { limit: 2 } });
    return { call: () => api.get('x').text(), close: async () => {} };
  },
};

/**
 * Decomposition (BENCH_DECOMPOSE=1): raw undici plus one piece of Steadfast's per-call path
 * at a time, to see which piece costs what. Each adds to the previous one.
 */
class LightSignal {
  aborted = false;
  reason: unknown;
  readonly #listeners: (() => void)[] = [];
  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.push(listener);
  }
  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.#listeners.indexOf(listener);
    if (i >= 0) this.#listeners.splice(i, 1);
  }
}

class BodyBackedResponse extends Response {
  readonly #body: { text(): Promise<string> };
  constructor(body: { text(): Promise<string> }, status: number) {
    super(null, { status });
    this.#body = body;
  }
  override text(): Promise<string> {
    return this.#body.text();
  }
}

function decompositionStep(
  name: string,
  steps: { url?: boolean; timer?: boolean; signal?: boolean; response?: boolean },
): Contender {
  return {
    name,
    async setup(url) {
      const pool = new Pool(url, { connections: CONNECTIONS });
      const base = new URL(url);
      return {
        call: async () => {
          let path = '/x';
          if (steps.url) {
            const target = new URL('/x', base);
            const ctx = {
              url: target,
              origin: target.origin,
              path: target.pathname + target.search,
              headers: {},
              slots: new Map(),
              deadline: performance.now() + 30_000,
            };
            path = ctx.path;
          }
          const timer = steps.timer ? setTimeout(() => {}, 10_000) : undefined;
          let res: Awaited<ReturnType<Pool['request']>>;
          try {
            res = await pool.request({
              method: 'GET',
              path,
              ...(steps.signal ? { signal: new LightSignal() as unknown as AbortSignal } : {}),
            });
          } finally {
            clearTimeout(timer);
          }
          return steps.response
            ? new BodyBackedResponse(res.body, res.statusCode).text()
            : res.body.text();
        },
        close: () => pool.close(),
      };
    },
  };
}

export const DECOMPOSITION: Contender[] = [
  undiciContender,
  decompositionStep('+ new URL() and a context object per call', { url: true }),
  decompositionStep('+ attempt timer (setTimeout/clearTimeout)', { url: true, timer: true }),
  decompositionStep('+ a (light) signal passed to undici', {
    url: true,
    timer: true,
    signal: true,
  }),
  decompositionStep('+ a Response subclass reading undici’s body', {
    url: true,
    timer: true,
    signal: true,
    response: true,
  }),
  steadfastBareContender,
  steadfastContender,
];

export const ALL_CONTENDERS: Contender[] = [
  undiciContender,
  steadfastContender,
  steadfastRequestContender,
  steadfastBareContender,
  undiciAsResponseContender,
  cockatielContender,
  gotContender,
  axiosContender,
  kyContender,
];

export interface Sample {
  readonly requests: number;
  readonly wallMs: number;
  readonly cpuUs: number;
  readonly latenciesMs: Float64Array;
}

/** `requests` calls, `concurrency` at a time; wall time, client CPU and every latency. */
export async function measure(
  call: () => Promise<unknown>,
  requests: number,
  concurrency: number,
): Promise<Sample> {
  const latenciesMs = new Float64Array(requests);
  let issued = 0;
  const worker = async () => {
    while (issued < requests) {
      const i = issued++;
      const t0 = performance.now();
      await call();
      latenciesMs[i] = performance.now() - t0;
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { requests, wallMs, cpuUs: cpu.user + cpu.system, latenciesMs };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export interface Summary {
  readonly name: string;
  readonly reqPerSec: number;
  readonly cpuUsPerReq: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuPerRound: number[];
}

export function summarize(name: string, samples: Sample[]): Summary {
  const all = new Float64Array(samples.reduce((n, s) => n + s.requests, 0));
  let offset = 0;
  for (const s of samples) {
    all.set(s.latenciesMs, offset);
    offset += s.requests;
  }
  all.sort();
  const cpuPerRound = samples.map((s) => s.cpuUs / s.requests);
  return {
    name,
    reqPerSec: median(samples.map((s) => (s.requests / s.wallMs) * 1000)),
    cpuUsPerReq: median(cpuPerRound),
    p50Ms: percentile(all, 0.5),
    p99Ms: percentile(all, 0.99),
    cpuPerRound,
  };
}

/**
 * A markdown table, ratios to the first row (the baseline) first. The per-round column pairs
 * each round's figure with the baseline's in the same round, which resists slow drift in
 * machine load better than the ratio of medians.
 */
export function table(rows: Summary[]): string {
  const base = rows[0]!;
  const f = (n: number, d = 2) => n.toFixed(d);
  const lines = [
    '| client | CPU/req ÷ undici | same, median of per-round ratios | req/s ÷ undici | client CPU µs/req | req/s | p50 ms | p99 ms | CPU µs/req per round |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | **${f(r.cpuUsPerReq / base.cpuUsPerReq)}** | ${f(median(r.cpuPerRound.map((c, i) => c / base.cpuPerRound[i]!)))} | **${f(r.reqPerSec / base.reqPerSec)}** | ${f(r.cpuUsPerReq, 1)} | ${Math.round(r.reqPerSec)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${r.cpuPerRound.map((c) => c.toFixed(1)).join(', ')} |`,
    );
  }
  return lines.join('\n');
}

/** Run `contenders` against one server process, alternating their order each round. */
export async function runMacro(
  contenders: Contender[],
  options: { requests: number; rounds: number; concurrency: number; warmup: number },
): Promise<{ rows: Summary[]; pinned: boolean }> {
  const server = await startBenchServer();
  const clientPinned = server.pinned && pinSelfToCpu1();
  try {
    const clients: {
      contender: Contender;
      call: () => Promise<unknown>;
      close: () => Promise<void>;
    }[] = [];
    for (const c of contenders) clients.push({ contender: c, ...(await c.setup(server.url)) });
    for (const c of clients) {
      await measure(c.call, options.warmup, options.concurrency);
    }
    const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
    for (let round = 0; round < options.rounds; round++) {
      // Rotate the order so no contender always runs first or last (heap, JIT, server state).
      const order = clients.map((_, i) => clients[(i + round) % clients.length]!);
      for (const c of order) {
        const sample = await measure(c.call, options.requests, options.concurrency);
        samples.get(c.contender.name)!.push(sample);
        process.stderr.write(
          `round ${round + 1}/${options.rounds} ${c.contender.name}: ${(sample.cpuUs / sample.requests).toFixed(1)} µs CPU/req, ${Math.round((sample.requests / sample.wallMs) * 1000)} req/s\n`,
        );
      }
    }
    for (const c of clients) await c.close();
    const rows = contenders.map((c) => summarize(c.name, samples.get(c.name)!));
    return { rows, pinned: clientPinned };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const env = process.env;
  const options = {
    requests: Number(env.BENCH_REQUESTS ?? 10_000),
    rounds: Number(env.BENCH_ROUNDS ?? 5),
    concurrency: Number(env.BENCH_CONCURRENCY ?? 64),
    warmup: Number(env.BENCH_WARMUP ?? 3_000),
  };
  const only = env.BENCH_ONLY?.split(',').map((s) => s.trim().toLowerCase());
  const pool = env.BENCH_DECOMPOSE === '1' ? DECOMPOSITION : ALL_CONTENDERS;
  const contenders = only
    ? pool.filter((c) => only.some((o) => c.name.toLowerCase().includes(o)))
    : pool;
  const { rows, pinned } = await runMacro(contenders, options);
  const header = `Macro (loopback): ${options.requests} requests × ${options.rounds} rounds per client, concurrency ${options.concurrency}, warm-up ${options.warmup}; server in another process${pinned ? ', server on CPU 0, client on CPU 1 (taskset)' : ''}. Node ${process.version}.`;
  process.stdout.write(`\n${header}\n\n${table(rows)}\n`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/macro.json', import.meta.url),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, options, pinned, rows }, null, 2)}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}

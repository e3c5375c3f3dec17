/**
 * Macro benchmark on loopback: raw undici `request` vs Steadfast's full pipeline vs the peers
 * users would pick instead, against one server in another process, in the same run,
 * alternating rounds, at a fixed concurrency.
 *
 *   node --import tsx bench/macro.ts            (or: npm run bench -- macro)
 *   BENCH_REQUESTS=3000 BENCH_ROUNDS=15 BENCH_CONCURRENCY=64 BENCH_ONLY=undici,steadfast
 *   (BENCH_ONLY filters by name; ratios are to the first row, so keep `undici` in it.)
 *   BENCH_DECOMPOSE=1: from raw undici to the full pipeline one layer at a time, instead of
 *   the peers. BENCH_SERVER=node-http: the node:http server instead of the faster net one
 *   (see bench/server.ts).
 *
 * Many short alternating rounds, and each round's ratio to raw undici in the same round
 * (median over rounds): on this shared 2-core machine the CPU time of one request moves by
 * ±30 % within seconds, and pairing rounds cancels the slow part of that drift.
 *
 * Reports requests/s, client CPU per request (`process.cpuUsage()` delta / requests), p50 and
 * p99 latency, and each figure as a ratio to raw undici. Telemetry is off for Steadfast here
 * (bench/telemetry.ts measures it on). Writes bench/results/macro.json too.
 *
 * It measures the built package (dist/): `npm run build` first (`npm run bench` does).
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
import { type Dispatcher, Pool } from 'undici';
import { emptyBody } from '../packages/steadfast/dist/http/body.js';
import { UndiciTransport } from '../packages/steadfast/dist/http/transport.js';
import { createClient } from '../packages/steadfast/dist/index.js';
import { Call } from '../packages/steadfast/dist/pipeline/call.js';
import { median, percentile } from '../src/loadtest/percentile.js';
import { type BenchServerOptions, pinSelfToCpu1, startBenchServer } from './server.js';

/** One way of making a GET and reading its body. */
export interface Contender {
  readonly name: string;
  /** Build the client against `url`; returns one call and a way to release it. */
  setup(url: string): Promise<ContenderClient>;
}

export interface ContenderClient {
  call: () => Promise<unknown>;
  close: () => Promise<void>;
  /** Before each of its rounds and its warm-up (e.g. switch an instrumentation on). */
  enter?: () => void;
  /** After each of its rounds and its warm-up. */
  leave?: () => void;
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
 * Decomposition (BENCH_DECOMPOSE=1): from raw undici to Steadfast's full pipeline, one layer
 * at a time, to see which layer costs what. Each row adds to the previous one.
 */
class CollectingHandler implements Dispatcher.DispatchHandler {
  readonly #chunks: Buffer[] = [];
  constructor(
    private readonly resolve: (text: string) => void,
    private readonly reject: (error: Error) => void,
  ) {}
  onRequestStart(): void {}
  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }
  onResponseEnd(): void {
    this.resolve(Buffer.concat(this.#chunks).toString('utf8'));
  }
  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.reject(error);
  }
}

const dispatchContender: Contender = {
  name: '+ undici dispatch() with a minimal handler instead of request()',
  async setup(url) {
    const pool = new Pool(url, { connections: CONNECTIONS });
    const origin = new URL(url).origin;
    return {
      call: () =>
        new Promise<string>((resolve, reject) => {
          pool.dispatch(
            { origin, method: 'GET', path: '/x' },
            new CollectingHandler(resolve, reject),
          );
        }),
      close: () => pool.close(),
    };
  },
};

const transportContender: Contender = {
  name: "+ Steadfast's transport alone (handler, IncomingBody, a call context)",
  async setup(url) {
    const transport = new UndiciTransport({
      transport: {
        dispatcher: undefined,
        connectionsPerOrigin: CONNECTIONS,
        keepAliveTimeoutMs: 4_000,
        connectTimeoutMs: 10_000,
      },
      bodyTimeoutMs: 30_000,
    });
    const origin = new URL(url).origin;
    return {
      call: async () => {
        const ctx = new Call({
          client: 'bench',
          method: 'GET',
          url: undefined,
          origin,
          path: '/x',
          operation: 'GET',
          headers: {},
          body: emptyBody,
          maxResponseBytes: 32 * 1024 * 1024,
          signal: undefined,
          idempotent: true,
        });
        const outcome = await transport.execute(ctx);
        if (outcome.kind === 'error') throw outcome.error;
        return outcome.response.body.text();
      },
      close: () => transport.close(() => new Error('closed')),
    };
  },
};

const steadfastBareRequestContender: Contender = {
  name: '+ the client: limiter, deadline, attempt timeout (retry + breaker off), client.request()',
  async setup(url) {
    const client = createClient({
      name: 'bench-bare-request',
      baseUrl: url,
      retry: false,
      circuitBreaker: false,
      telemetry: { metrics: false, tracing: false },
    });
    return {
      call: async () => (await client.request('/x')).body.text(),
      close: () => client.close(),
    };
  },
};

export const DECOMPOSITION: Contender[] = [
  undiciContender,
  dispatchContender,
  transportContender,
  steadfastBareRequestContender,
  {
    ...steadfastRequestContender,
    name: '+ retry and breaker: the full pipeline, client.request()',
  },
  { ...steadfastContender, name: '+ a Response: the full pipeline, fetch() + text()' },
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
    p50Ms: percentile(all, 50),
    p99Ms: percentile(all, 99),
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
    '| client | CPU/req ÷ undici (median of per-round ratios) | ratio of median CPU/req | req/s ÷ undici | client CPU µs/req | req/s | p50 ms | p99 ms |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | **${f(pairedRatio(r, base))}** | ${f(r.cpuUsPerReq / base.cpuUsPerReq)} | ${f(r.reqPerSec / base.reqPerSec)} | ${f(r.cpuUsPerReq, 1)} | ${Math.round(r.reqPerSec)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} |`,
    );
  }
  return lines.join('\n');
}

/** Each round's CPU/request over the baseline's in the same round; the median over rounds. */
export function pairedRatio(row: Summary, base: Summary): number {
  return median(row.cpuPerRound.map((c, i) => c / base.cpuPerRound[i]!));
}

/** Run `contenders` against one server process, alternating their order each round. */
export async function runMacro(
  contenders: Contender[],
  options: { requests: number; rounds: number; concurrency: number; warmup: number },
  serverOptions: BenchServerOptions = {},
): Promise<{ rows: Summary[]; pinned: boolean; server: string }> {
  const server = await startBenchServer(serverOptions);
  const clientPinned = server.pinned && pinSelfToCpu1();
  try {
    const clients: (ContenderClient & { contender: Contender })[] = [];
    for (const c of contenders) clients.push({ contender: c, ...(await c.setup(server.url)) });
    for (const c of clients) {
      c.enter?.();
      await measure(c.call, options.warmup, options.concurrency);
      c.leave?.();
    }
    const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
    for (let round = 0; round < options.rounds; round++) {
      // Rotate the order so no contender always runs first or last (heap, JIT, server state).
      const order = clients.map((_, i) => clients[(i + round) % clients.length]!);
      for (const c of order) {
        c.enter?.();
        const sample = await measure(c.call, options.requests, options.concurrency);
        c.leave?.();
        samples.get(c.contender.name)!.push(sample);
        process.stderr.write(
          `[${server.label}] round ${round + 1}/${options.rounds} ${c.contender.name}: ${(sample.cpuUs / sample.requests).toFixed(1)} µs CPU/req, ${Math.round((sample.requests / sample.wallMs) * 1000)} req/s\n`,
        );
      }
    }
    for (const c of clients) await c.close();
    const rows = contenders.map((c) => summarize(c.name, samples.get(c.name)!));
    return { rows, pinned: clientPinned, server: server.label };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const env = process.env;
  const options = {
    requests: Number(env.BENCH_REQUESTS ?? 3_000),
    rounds: Number(env.BENCH_ROUNDS ?? 15),
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

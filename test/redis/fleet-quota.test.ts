/**
 * A fleet of 4 processes sharing one quota and its cooldowns through a private
 * redis-server, against a loopback API that enforces a real limit of LIMIT requests per
 * second: a token bucket refilled at LIMIT/s holding a tenth of a second's worth (BURST), so
 * a fleet that bunches more than BURST requests gets 429s, with Retry-After and RateLimit
 * headers. The test measures the rate itself, in every 1 s window, at the API.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePrivateRedis } from '../helpers/redis.js';
import type { QuotaReport, QuotaRun } from './fixtures/quota-worker.js';

const WORKER = fileURLToPath(new URL('./fixtures/quota-worker.ts', import.meta.url));
const LIMIT = 200;
const INSTANCES = 4;
const BURST = LIMIT / 10;

interface LimitedApi {
  readonly url: string;
  /** Arrival time (`performance.now()`) of every request, and its status. */
  /**
   * Every request: arrival (`performance.now()`), status, the wall clock when it was answered
   * and, when the instance stamped it, the wall clock when the instance sent it.
   */
  readonly log: {
    at: number;
    status: number;
    wall: number;
    sentAt: number | undefined;
    /** The sending process (its `x-instance` header). */
    instance: number;
  }[];
  /** Answer the next request 429 with this `Retry-After` (seconds), whatever the limit says. */
  force429(retryAfterSeconds: number): void;
  /** Hold the answers of requests for this long (the probe is then easy to see alone). */
  delayMs: number;
  /** Enforce LIMIT per second (true) or answer everything 200. */
  limited: boolean;
  reset(): void;
  close(): Promise<void>;
}

async function startLimitedApi(): Promise<LimitedApi> {
  let tokens = BURST;
  let filledAt = performance.now();
  let forced: number | undefined;
  const log: LimitedApi['log'] = [];
  const api = {
    url: '',
    log,
    delayMs: 0,
    limited: true,
    force429(seconds: number) {
      forced = seconds;
    },
    reset() {
      tokens = BURST;
      filledAt = performance.now();
      log.length = 0;
      forced = undefined;
      api.delayMs = 0;
    },
  } as LimitedApi;
  const server: Server = createServer((request, response) => {
    const now = performance.now();
    request.resume();
    tokens = Math.min(BURST, tokens + ((now - filledAt) * LIMIT) / 1000);
    filledAt = now;
    let status = 200;
    const headers: Record<string, string> = {};
    if (forced !== undefined) {
      status = 429;
      headers['retry-after'] = String(forced);
      forced = undefined;
    } else if (api.limited && tokens < 1) {
      status = 429;
      const resetS = Math.max(1, Math.ceil((1 - tokens) / LIMIT));
      headers['retry-after'] = String(resetS);
      headers.ratelimit = `"default";r=0;t=${resetS}`;
      headers['ratelimit-policy'] = `"default";q=${LIMIT};w=1`;
    } else if (api.limited) {
      tokens -= 1;
    }
    const stamp = Number(request.headers['x-sent-at']);
    log.push({
      at: now,
      status,
      wall: Date.now(),
      sentAt: stamp > 0 ? stamp : undefined,
      instance: Number(request.headers['x-instance']),
    });
    const answer = () => response.writeHead(status, headers).end('ok');
    if (api.delayMs > 0) setTimeout(answer, api.delayMs);
    else answer();
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(api, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return api;
}

/** Start the instances, give each the same run, and collect their reports. */
async function runFleet(run: Omit<QuotaRun, 'startAt'>): Promise<QuotaReport[]> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    await new Promise((resolve) => child.once('message', resolve));
  }
  const startAt = Date.now() + 200;
  const reports = children.map(
    (child) =>
      new Promise<QuotaReport>((resolve, reject) => {
        child.once('message', (report: QuotaReport) => resolve(report));
        child.once('exit', (code) => reject(new Error(`quota worker exited with ${code}`)));
      }),
  );
  for (const child of children) child.send({ ...run, startAt } satisfies QuotaRun);
  try {
    return await Promise.all(reports);
  } finally {
    for (const child of children) child.kill();
  }
}

/** Sum the reports' outcomes. */
function total(reports: QuotaReport[], key: 'outcomes' | 'leases'): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const report of reports) {
    for (const [k, n] of Object.entries(report[key])) sum[k] = (sum[k] ?? 0) + n;
  }
  return sum;
}

/** Requests in each whole second from `from` (performance.now()) on. */
function perSecond(times: number[], from: number, seconds: number): number[] {
  const counts = new Array<number>(seconds).fill(0);
  for (const t of times) {
    const i = Math.floor((t - from) / 1000);
    if (i >= 0 && i < seconds) counts[i]! += 1;
  }
  return counts;
}

/**
 * The rate check of the issue, on two clocks. When the instances sent (each attempt stamped
 * by a hook just before the wire, wall clock): every whole second past the first holds at
 * most `sent` more than LIMIT — what the fleet quota controls. When the API read them: every
 * whole second at most `arrived` more, any sliding second 3 % more than that — the API's own
 * event loop, busy beside the whole suite on two cores, bunches the arrival times it records.
 */
function expectWithinLimit(
  log: LimitedApi['log'],
  slack: { readonly sent: number; readonly arrived: number },
): void {
  const sent = log.map((r) => r.sentAt ?? Number.NaN);
  expect(sent.every((t) => Number.isFinite(t))).toBe(true);
  const wholeSeconds = (times: number[]) => {
    const first = Math.min(...times);
    return perSecond(times, first + 1000, Math.floor((Math.max(...times) - first) / 1000) - 1);
  };
  expect(Math.max(...wholeSeconds(sent))).toBeLessThanOrEqual(LIMIT * (1 + slack.sent));
  const arrived = log.map((r) => r.at);
  expect(Math.max(...wholeSeconds(arrived))).toBeLessThanOrEqual(LIMIT * (1 + slack.arrived));
  expect(busiest(arrived, Math.min(...arrived) + 1000)).toBeLessThanOrEqual(
    LIMIT * (1 + slack.arrived + 0.03),
  );
}

/**
 * What each instance sent in each whole second (by its send stamps, as `expectWithinLimit`
 * counts them), and when each changed footing (local share, rejoined) and the `marks`: the
 * values a failure of the rate check needs to be read.
 */
function printSecondBySecond(
  log: LimitedApi['log'],
  reports: readonly QuotaReport[],
  marks: Record<string, number>,
): void {
  const first = Math.min(...log.map((r) => r.sentAt ?? Number.POSITIVE_INFINITY));
  const at = (wall: number) => `${((wall - first) / 1000).toFixed(2)} s`;
  const seconds = Math.floor((Math.max(...log.map((r) => r.sentAt ?? 0)) - first) / 1000);
  const rows = reports.map((report, i) => {
    const sent = log.filter((r) => r.instance === report.pid).map((r) => r.sentAt ?? 0);
    const counts = perSecond(sent, first, seconds).join(' ');
    const footing = report.footing.map((f) => `${f.on}${f.fleetSize ?? ''}@${at(f.at)}`);
    return `instance ${i}: ${counts} | ${footing.join(', ')}`;
  });
  const all = perSecond(
    log.map((r) => r.sentAt ?? 0),
    first,
    seconds,
  ).join(' ');
  const events = Object.entries(marks).map(([name, wall]) => `${name}@${at(wall)}`);
  console.info(`sent per whole second: ${all} | ${events.join(', ')}\n${rows.join('\n')}`);
}

/** The most requests in any 1 s window starting at a request, after `from`. */
function busiest(times: number[], from: number): number {
  const sorted = times.filter((t) => t >= from).sort((a, b) => a - b);
  let most = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + 1000) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

describe('fleet quota across processes (real redis-server)', () => {
  const redis = usePrivateRedis();
  let api: LimitedApi;
  beforeAll(async () => {
    api = await startLimitedApi();
  });
  afterAll(async () => {
    await api.close();
  });

  it('keeps 4 processes × 20 callers within the API limit, with almost no 429, at a fraction of a Redis command per call', async () => {
    api.reset();
    await redis.cli('CONFIG', 'RESETSTAT');
    const started = performance.now();
    const reports = await runFleet({
      apiUrl: api.url,
      redisUrl: redis.url,
      quota: { key: 'partner-api', limit: LIMIT, intervalMs: 1000 },
      cooldown: true,
      retry: true,
      callers: 20,
      durationMs: 20_000,
      stampSends: true,
    });
    const outcomes = total(reports, 'outcomes');
    const accepted = api.log.filter((r) => r.status === 200).map((r) => r.at);
    const first = api.log[0]!.at;
    const tooMany = api.log.filter((r) => r.status === 429).length;
    const stats = await redis.commandStats();
    const scripts = (stats.evalsha ?? 0) + (stats.eval ?? 0);

    expectWithinLimit(api.log, { sent: 0.02, arrived: 0.03 });
    expect(tooMany).toBeLessThanOrEqual(5);
    // ... and uses the quota: at least 85 % of it over the whole seconds of the run. Alone on
    // the machine the fleet uses 99.8 %; in CI runs 99.1–99.4 %, and 91.3 % with CI and two
    // busy loops beside it. Before leases were placed from when they were asked for (a late
    // read moved them onto other instances' slots, and those came late), CI runs used 79–86 %.
    // A quota that under-leases (a batching or refill mistake) leaves far more unused.
    const seconds = perSecond(accepted, first + 1000, 18);
    const used = seconds.reduce((a, b) => a + b, 0) / 18 / LIMIT;
    console.info(`fleet used ${(used * 100).toFixed(1)} % of the quota`);
    expect(used).toBeGreaterThanOrEqual(0.85);
    expect(Object.keys(outcomes).filter((k) => k !== '200' && k !== '429')).toEqual([]);
    // Quota leases only (no token traffic here): well under one script per 10 calls.
    expect(scripts / api.log.length).toBeLessThan(1 / 10);
    expect(performance.now() - started).toBeLessThan(40_000);
  }, 60_000);

  it('without the fleet quota the same fleet collects thousands of 429s', async () => {
    api.reset();
    const reports = await runFleet({
      apiUrl: api.url,
      redisUrl: redis.url,
      retry: false,
      callers: 20,
      durationMs: 3000,
    });
    expect(total(reports, 'outcomes')['429'] ?? 0).toBeGreaterThan(1000);
  }, 30_000);

  it('costs at most one Redis command per 20 calls at 100 calls/s per instance', async () => {
    api.reset();
    api.limited = false;
    await redis.cli('CONFIG', 'RESETSTAT');
    const reports = await runFleet({
      apiUrl: api.url,
      redisUrl: redis.url,
      quota: { key: 'roomy-api', limit: 1000, intervalMs: 1000 },
      retry: true,
      callers: 10,
      pauseMs: 100, // 10 callers × ~10 calls/s: ~100 calls/s per instance
      durationMs: 6000,
    });
    api.limited = true;
    const stats = await redis.commandStats();
    const scripts = (stats.evalsha ?? 0) + (stats.eval ?? 0);
    const calls = total(reports, 'outcomes')['200'] ?? 0;
    console.info(
      `${scripts} quota scripts for ${calls} calls: 1 per ${(calls / scripts).toFixed(1)}`,
    );
    expect(calls).toBeGreaterThan(INSTANCES * 100 * 5);
    expect(scripts / calls).toBeLessThanOrEqual(1 / 20);
  }, 30_000);

  it('keeps within the limit with no failed call when Redis is killed mid-run, and rejoins when it is back', async () => {
    api.reset();
    const run = runFleet({
      apiUrl: api.url,
      redisUrl: redis.url,
      quota: { key: 'outage-api', limit: LIMIT, intervalMs: 1000 },
      retry: true,
      callers: 20,
      durationMs: 10_000,
      stampSends: true,
    });
    // Mid-run: the fleet has been sending for 2.5 s (its processes take a while to start).
    while (api.log.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 2500));

    const killedAt = Date.now();
    await redis.kill();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await redis.restart();
    const restartedAt = Date.now();

    const reports = await run;
    printSecondBySecond(api.log, reports, { killed: killedAt, restarted: restartedAt });
    const outcomes = total(reports, 'outcomes');
    expect(Object.keys(outcomes)).toEqual(['200']); // no call failed, none was refused
    // The hand-overs to the local share and back, under load, have sent up to 206 in a second.
    expectWithinLimit(api.log, { sent: 0.03, arrived: 0.05 });
    expect(reports.every((r) => r.fallbacks >= 1)).toBe(true);
    const leases = total(reports, 'leases');
    expect(leases['redis:error']).toBeGreaterThan(0);
    expect(leases['local_share:ok']).toBeGreaterThan(0);
  }, 60_000);

  it('one 429 with Retry-After: 3 stops every instance as its notice arrives (ms after the answer); after 3 s one probe goes first', async () => {
    api.reset();
    api.limited = false;
    const run = runFleet({
      apiUrl: api.url,
      redisUrl: redis.url,
      cooldown: true,
      retry: false,
      callers: 2,
      pauseMs: 20,
      durationMs: 7000,
      stampSends: true,
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    api.force429(3);
    const forcedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    api.delayMs = 300; // the probe (the first request after the pause) is answered slowly
    const reports = await run;
    api.limited = true;
    const the429 = api.log.find((r) => r.status === 429 && r.at >= forcedAt)!;
    const after = api.log.filter((r) => r.at > the429.at);
    // When each instance learned of the pause (wall clock): the one that read the 429 from
    // its header, the others from the fleet's notice through Redis.
    const learnt = new Map<number, number>();
    for (const report of reports) {
      const pause = report.pauses.find((p) => p.at >= the429.wall - 5);
      expect(pause, `instance ${report.pid} never learnt of the pause`).toBeDefined();
      learnt.set(report.pid, pause!.at);
    }
    expect(reports.filter((r) => r.pauses.some((p) => p.source === 'retry_after'))).toHaveLength(1);
    // The SDK's part, strictly: arrived during the pause means sent (by the instance's own
    // clock stamp, just before the wire) before its instance knew — never after.
    const stragglers = after.filter((r) => r.at < the429.at + 3000);
    expect(stragglers.every((r) => r.sentAt !== undefined)).toBe(true);
    const sentAfterNotice = stragglers.filter((r) => r.sentAt! > learnt.get(r.instance)! + 1);
    expect(sentAfterNotice).toEqual([]);
    // Redis's and the machine's part: how long the notice took. On a quiet machine every
    // instance knew within 5 ms of the answer; with the whole suite on two cores a process
    // has been descheduled for 362 ms. Bounded, and logged.
    const delays = [...learnt.values()].map((at) => at - the429.wall);
    console.log(`cooldown notice reached the instances ${delays.join(', ')} ms after the 429`);
    expect(Math.max(...delays)).toBeLessThan(1000);
    const probe = after.find((r) => r.at >= the429.at + 2900)!;
    expect(probe.at - the429.at).toBeGreaterThanOrEqual(2900);
    // Nothing else reached the API while the probe was being answered (300 ms).
    const duringProbe = after.filter((r) => r.at > probe.at && r.at < probe.at + 290);
    expect(duringProbe).toEqual([]);
    expect(after.filter((r) => r.at > probe.at + 300).length).toBeGreaterThan(10);
    const outcomes = total(reports, 'outcomes');
    expect(outcomes['429']).toBe(1);
  }, 30_000);
});

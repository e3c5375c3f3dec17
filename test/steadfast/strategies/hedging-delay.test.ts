import { describe, expect, it } from 'vitest';
import {
  AbortError,
  CircuitOpenError,
  HedgeCancelledError,
  NetworkError,
  PoolExhaustedError,
  RateLimitedError,
  TimeoutError,
} from '../../../packages/steadfast/src/errors.js';
import { seededRandom } from '../../../packages/steadfast/src/pipeline/seeded-random.js';
import type { Outcome, WireResponse } from '../../../packages/steadfast/src/pipeline/types.js';
import {
  LearnedDelay,
  selectKth,
} from '../../../packages/steadfast/src/strategies/hedging/delay.js';
import { EndpointGroup } from '../../../packages/steadfast/src/strategies/hedging/endpoints.js';
import {
  failureRank,
  isCensored,
  verdictOf,
} from '../../../packages/steadfast/src/strategies/hedging/verdict.js';

const SETTINGS = {
  quantile: 0.9,
  minMs: 1,
  maxMs: 2000,
  samples: 256,
  minSamples: 20,
  maxOrigins: 100,
};
const A = 'http://a:1';
const B = 'http://b:1';

/** Record `values` for `origin`, 1 ms apart. */
function feed(delays: LearnedDelay, origin: string, values: readonly number[]): void {
  for (const [i, value] of values.entries()) delays.record(origin, value, i);
}

describe('the learnt hedge delay', () => {
  it('is maxMs until an origin has minSamples, then the quantile of its durations', () => {
    const delays = new LearnedDelay(SETTINGS);
    expect(delays.delayFor(A)).toBe(2000);
    feed(
      delays,
      A,
      Array.from({ length: 19 }, (_, i) => i + 1),
    );
    expect(delays.delayFor(A)).toBe(2000);
    feed(delays, A, [20]); // 1..20: the p90 is the 18th
    expect(delays.delayFor(A)).toBe(18);
    expect(delays.delayFor(B)).toBe(2000); // per origin
  });

  it('follows the recent durations: the ring forgets the old ones', () => {
    const delays = new LearnedDelay(SETTINGS);
    feed(delays, A, Array(256).fill(100));
    expect(delays.delayFor(A)).toBe(100);
    feed(delays, A, Array(256).fill(5));
    expect(delays.delayFor(A)).toBe(5);
  });

  it('recomputes every samples ÷ 16 new samples, not per call', () => {
    const delays = new LearnedDelay(SETTINGS);
    feed(delays, A, Array(256).fill(10));
    feed(delays, A, Array(15).fill(1000)); // not yet: every 16
    expect(delays.delayFor(A)).toBe(10);
    feed(delays, A, [1000]);
    expect(delays.delayFor(A)).toBe(10); // 16 of 256 above: still below the p90
  });

  it('stays within minMs and maxMs', () => {
    const delays = new LearnedDelay({ ...SETTINGS, minMs: 5, maxMs: 50 });
    feed(delays, A, Array(20).fill(0.2));
    expect(delays.delayFor(A)).toBe(5);
    feed(delays, B, Array(20).fill(10_000));
    expect(delays.delayFor(B)).toBe(50);
  });

  it('keeps an attempt a hedge beat as a lower bound, so hedging does not pull its own delay down', () => {
    const delays = new LearnedDelay(SETTINGS);
    feed(delays, A, Array(256).fill(50));
    expect(delays.delayFor(A)).toBe(50);
    // One attempt in five is slow; a hedge beats each of them, which is cancelled 60 ms in.
    // Their true length is unknown, but it is past the delay: they stay above the p90.
    for (let i = 0; i < 500; i++) {
      if (i % 5 === 0) delays.recordCensored(A, 60, i);
      else delays.record(A, 5, i);
    }
    expect(delays.delayFor(A)).toBe(60);
    // Left out, the p90 would be the fast attempts' 5 ms: more hedges, fewer slow samples...
  });

  it('leaves out an attempt cancelled before the delay: its side of the quantile is unknown', () => {
    const delays = new LearnedDelay(SETTINGS);
    feed(delays, A, Array(256).fill(20));
    for (let i = 0; i < 500; i++) delays.recordCensored(A, 1, i); // hedges that lost at once
    expect(delays.delayFor(A)).toBe(20);
  });

  it('keeps at most maxOrigins origins, dropping the one without samples the longest', () => {
    const delays = new LearnedDelay({ ...SETTINGS, maxOrigins: 2, minSamples: 1 });
    delays.record('http://one:1', 7, 1);
    delays.record('http://two:1', 8, 2);
    delays.record('http://one:1', 7, 3);
    delays.record('http://three:1', 9, 4); // two is the least recently used
    expect(delays.size).toBe(2);
    expect(delays.delayFor('http://two:1')).toBe(2000);
    expect(delays.delayFor('http://one:1')).toBe(7);
    expect(delays.delayFor('http://three:1')).toBe(9);
  });
});

describe('the selection of a quantile', () => {
  it('finds the k-th smallest as a sort would, for any k, with repeats and in any order', () => {
    const random = seededRandom(3);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(random() * 300);
      const values = Float64Array.from({ length: n }, () =>
        round % 3 === 0 ? Math.floor(random() * 5) : random() * 1000,
      );
      if (round % 7 === 0) values.sort(); // already sorted
      if (round % 11 === 0) values.sort().reverse();
      const sorted = Float64Array.from(values).sort();
      const k = Math.floor(random() * n);
      expect(selectKth(Float64Array.from(values), n, k)).toBe(sorted[k]);
    }
  });
});

describe('an endpoint group', () => {
  const endpoints = [
    { origin: A, weight: 1 },
    { origin: B, weight: 3 },
    { origin: 'http://c:1', weight: 1 },
  ];

  it('in order: the first endpoint not used yet, skipping those that refused, then round again', () => {
    const group = new EndpointGroup(endpoints, false, Math.random);
    expect(group.pick(0, 0)).toBe(0);
    expect(group.pick(0b001, 0)).toBe(1);
    expect(group.pick(0b011, 0)).toBe(2);
    expect(group.pick(0b111, 0)).toBe(0); // every one used: round again
    expect(group.pick(0b001, 0b010)).toBe(2); // b refused
    expect(group.pick(0b111, 0b111)).toBe(-1); // all refused
    expect(group.has(B)).toBe(true);
    expect(group.has('http://elsewhere:1')).toBe(false);
  });

  it('weighted: draws by weight among those not used yet', () => {
    const group = new EndpointGroup(endpoints, true, seededRandom(7));
    const counts = [0, 0, 0];
    for (let i = 0; i < 5000; i++) counts[group.pick(0, 0)]!++;
    expect(counts[1]! / 5000).toBeGreaterThan(0.55);
    expect(counts[1]! / 5000).toBeLessThan(0.65);
    for (let i = 0; i < 100; i++) expect(group.pick(0b010, 0)).not.toBe(1); // b was used
    for (let i = 0; i < 100; i++) expect(group.pick(0, 0b101)).toBe(1); // only b left
  });
});

describe('how hedging judges an attempt', () => {
  const response = (status: number): Outcome => ({
    kind: 'response',
    response: { status, headers: {}, body: {} as never } as WireResponse,
  });
  const error = (e: Error): Outcome => ({ kind: 'error', error: e });
  const url = new URL('http://a:1/x');
  const refused = new NetworkError(
    'GET',
    url,
    'ECONNREFUSED',
    Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
  );
  const reset = new NetworkError(
    'GET',
    url,
    'ECONNRESET',
    Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
  );

  it.each([
    ['a 200', response(200), 'accept'],
    ['a 404', response(404), 'accept'],
    ['a 503', response(503), 'failed'],
    ['a 429', response(429), 'failed'],
    ['a reset connection', error(reset), 'failed'],
    ['an attempt timeout', error(new TimeoutError('GET', url, 'attempt', 10, 'x')), 'failed'],
    ['the deadline', error(new TimeoutError('GET', url, 'total', 10, 'x')), 'accept'],
    ['a caller abort', error(new AbortError('GET', url)), 'accept'],
    ['an open breaker', error(new CircuitOpenError('GET', url, A)), 'not_sent'],
    ['a refused connection', error(refused), 'not_sent'],
    ['an exhausted pool', error(new PoolExhaustedError('GET', url, 10, A, 1)), 'not_sent'],
    [
      'no permit',
      error(new RateLimitedError('GET', url, 'rate_limiter', 'max_wait', 10)),
      'not_sent',
    ],
  ] as const)('%s: %s', (_what, outcome, verdict) => {
    expect(verdictOf(outcome)).toBe(verdict);
  });

  it('prefers the server’s answer, then a wire error, then an attempt never sent', () => {
    expect(failureRank(response(503), 'failed')).toBeGreaterThan(
      failureRank(error(reset), 'failed'),
    );
    expect(failureRank(error(reset), 'failed')).toBeGreaterThan(
      failureRank(error(refused), 'not_sent'),
    );
  });

  it('reads a timed-out or aborted attempt as a lower bound of its duration', () => {
    const cancelled = new AbortError('GET', url, { cause: new HedgeCancelledError('GET', url) });
    expect(isCensored(error(cancelled))).toBe(true);
    expect(isCensored(error(new TimeoutError('GET', url, 'attempt', 10, 'x')))).toBe(true);
    expect(isCensored(response(200))).toBe(false);
    expect(isCensored(error(reset))).toBe(false);
  });
});

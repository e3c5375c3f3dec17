import { describe, expect, it } from 'vitest';
import {
  isRateLimitedError,
  type RateLimitEvent,
  RateLimitedError,
  seededRandom,
  type ThrottleEvent,
} from '../../../packages/steadfast/src/index.js';
import { type Client, sleep, useHarness } from '../support.js';

const h = useHarness();

/** What `callers` closed loops, each pausing `pauseMs` between calls, saw over `durationMs`. */
async function paced(
  client: Client,
  url: string,
  callers: number,
  durationMs: number,
  pauseMs: number,
) {
  const seen = { throttled: 0, sent: 0, at: [] as { at: number; throttled: boolean }[] };
  const end = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        let throttled = false;
        try {
          await (await client.fetch(url)).text();
        } catch (error) {
          if (!(isRateLimitedError(error) && error.limiter === 'adaptive_throttle')) throw error;
          throttled = true;
        }
        seen.at.push({ at: performance.now(), throttled });
        if (throttled) seen.throttled++;
        else seen.sent++;
        await sleep(pauseMs);
      }
    }),
  );
  return seen;
}

/** The share of calls refused locally among those that ended after `from`. */
const throttledShare = (seen: Awaited<ReturnType<typeof paced>>, from: number) => {
  const late = seen.at.filter((s) => s.at >= from);
  return late.filter((s) => s.throttled).length / late.length;
};

// No retries (a retry is one more request, which would blur the counts), no breaker (it
// would refuse the calls itself once the backend refuses them), a short window for the test.
const CLIENT = { retry: false, circuitBreaker: false } as const;
const THROTTLE = { k: 2, windowMs: 2_000, buckets: 20 } as const;

describe('client-side adaptive throttling (SRE book)', () => {
  it('refuses almost every attempt locally while the backend refuses everything, and opens again once it accepts', async () => {
    const server = await h.server(() => ({ status: 429 }));
    const client = h.client(server.url, {
      ...CLIENT,
      // A 1 s window: after a total refusal the throttle reopens over about
      // (windowMs / k) × ln(requests in a window): ~3 s here, ~10 min with the defaults.
      adaptiveThrottle: { ...THROTTLE, windowMs: 1_000, buckets: 10, random: seededRandom(7) },
    });

    const started = performance.now();
    const refusing = await paced(client, '/', 4, 2_000, 5);
    // With no accepts the probability is requests / (requests + 1): nearly every attempt
    // stays here, and the backend gets a trickle.
    const share = throttledShare(refusing, started + 1_000);
    expect(share).toBeGreaterThanOrEqual(0.95);
    expect(server.requests.length).toBeLessThan(0.1 * (refusing.sent + refusing.throttled));

    server.setScript(() => ({ status: 200 }));
    const reopened = performance.now();
    const accepting = await paced(client, '/', 4, 8_000, 5);
    // The trickle that gets through is accepted, each accept lets more through, and the
    // probability falls to 0: the last second goes through.
    const lastSecond = throttledShare(accepting, reopened + 7_000);
    console.info('adaptive throttle, refusing then accepting:', {
      throttledWhileRefusing: share.toFixed(3),
      throttledInTheLastSecond: lastSecond.toFixed(3),
    });
    expect(lastSecond).toBeLessThanOrEqual(0.05);
  }, 30_000);

  it('lets through about k times what a backend of limited capacity accepts', async () => {
    // The backend accepts one request per 20 ms (50/s at most) and refuses the others with
    // 429; the callers ask several times that.
    let nextFreeAt = 0;
    const accepted = new Set<number>();
    const server = await h.server((request) => {
      const now = performance.now();
      if (now < nextFreeAt) return { status: 429 };
      nextFreeAt = now + 20;
      accepted.add(request.index);
      return { status: 200 };
    });
    const client = h.client(server.url, {
      ...CLIENT,
      adaptiveThrottle: { ...THROTTLE, random: seededRandom(11) },
    });
    const started = performance.now();
    const seen = await paced(client, '/', 4, 5_000, 15);
    // The last 3 s, once the window has filled.
    const from = started + 2_000;
    const received = server.requests.filter((r) => r.receivedAt >= from);
    const acceptedCount = received.filter((r) => accepted.has(r.index)).length;
    const offered = seen.at.filter((s) => s.at >= from).length;
    console.info('adaptive throttle, limited backend, per second:', {
      offered: Math.round(offered / 3),
      received: Math.round(received.length / 3),
      accepted: Math.round(acceptedCount / 3),
    });
    // With k = 2 the backend receives about twice what it accepts; the rest stays here.
    expect(offered).toBeGreaterThan(2 * received.length);
    expect(received.length / acceptedCount).toBeGreaterThanOrEqual(1.5);
    expect(received.length / acceptedCount).toBeLessThanOrEqual(2.6);
  }, 30_000);

  it('refuses with RateLimitedError (adaptive_throttle, throttled), never retried, and says so in events', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url, {
      retry: { maxRetries: 2, backoff: 'constant', jitter: false, baseDelayMs: 1, budget: false },
      circuitBreaker: false,
      adaptiveThrottle: { ...THROTTLE, random: () => 0 }, // refuse whenever the probability is above 0
    });
    const throttles: ThrottleEvent[] = [];
    const admissions: RateLimitEvent[] = [];
    client.events.throttle.event((e) => throttles.push(e));
    client.events.rateLimit.event((e) => admissions.push(e));
    let retries = 0;
    client.events.retry.event(() => retries++);

    // The first call: a 503 (one request, no accept), so its retry meets a probability of
    // 1/2 and is refused here — that refusal is a request too: the next call meets 2/3.
    const first = await client.fetch('/').catch((error: unknown) => error);
    const error = await client.fetch('/').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({
      limiter: 'adaptive_throttle',
      reason: 'throttled',
      waitMs: Number.POSITIVE_INFINITY,
      code: 'ERR_STEADFAST_RATE_LIMITED',
    });
    expect(first).toBeInstanceOf(RateLimitedError);
    expect(server.requests.length).toBe(1);
    expect(retries).toBe(1);
    expect(throttles.length).toBe(2);
    expect(throttles[0]!.probability).toBeCloseTo(1 / 2); // (1 − 2·0) / (1 + 1)
    expect(throttles[1]!.probability).toBeCloseTo(2 / 3);
    expect(admissions.filter((e) => e.rejected === 'throttled')).toHaveLength(2);
    expect(
      admissions.filter((e) => e.rejected === undefined && e.limiter === 'adaptive_throttle'),
    ).toHaveLength(1);
  });

  it('counts per origin: a refusing backend does not throttle calls to another', async () => {
    const refusing = await h.server(() => ({ status: 503 }));
    const healthy = await h.server(() => ({ status: 200 }));
    const client = h.client(refusing.url, {
      ...CLIENT,
      adaptiveThrottle: { ...THROTTLE, random: seededRandom(3) },
    });
    const [toRefusing, toHealthy] = await Promise.all([
      paced(client, '/', 2, 1_000, 5),
      paced(client, `${healthy.url}/`, 2, 1_000, 5),
    ]);
    expect(toRefusing.throttled).toBeGreaterThan(toRefusing.sent);
    expect(toHealthy.throttled).toBe(0);
  });
});

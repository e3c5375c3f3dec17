import {
  type FaultProfile,
  faultProfile,
  InvalidFaultProfileError,
} from '../apps/fault-profile.js';
import type { Phase } from './types.js';

type NamedProfile = Partial<FaultProfile> & { readonly name: string };

/** Fault profiles of the demo API that `--profile` and `--phases` accept by name. */
export const NAMED_PROFILES: Readonly<Record<string, NamedProfile>> = {
  healthy: { name: 'healthy' },
  /**
   * A bad day: some 5xx, a few 429s and resets, a little latency. 6 % faults in all, well
   * under the standard breaker's 10 % failure ratio, so retries (not the breaker) carry it.
   */
  flaky: {
    name: 'flaky',
    errorRate: 0.04,
    rateLimitRate: 0.015,
    resetRate: 0.005,
    retryAfterSeconds: 0,
    latencyMedianMs: 2,
    latencyP99Ms: 20,
  },
  /** Everything at once, 401s included: retries and the token endpoint both get a workout. */
  storm: {
    name: 'storm',
    errorRate: 0.3,
    rateLimitRate: 0.05,
    unauthorizedRate: 0.05,
    resetRate: 0.02,
    retryAfterSeconds: 0,
    latencyMedianMs: 2,
    latencyP99Ms: 30,
  },
  /** 401 on a share of valid tokens: tests how many token-endpoint requests a client makes. */
  'auth-storm': { name: 'auth-storm', unauthorizedRate: 0.3, latencyMedianMs: 1, latencyP99Ms: 10 },
  /** Hard down: every request gets 503 at once. */
  outage: { name: 'outage', down: true },
  /**
   * No faults, but a real quota: 200 requests per second per client id (token bucket), past
   * it 429 with `Retry-After` and `RateLimit` headers.
   */
  quota: { name: 'quota', quotaPerSecond: 200 },
  /**
   * A latency tail: 5 % of requests take 500 ms, the rest about 1 ms. What hedging cuts: a
   * hedge of a slow request is most likely fast (each attempt draws its own latency).
   */
  tail: {
    name: 'tail',
    slowRate: 0.05,
    slowLatencyMs: 500,
    latencyMedianMs: 1,
    latencyP99Ms: 4,
  },
  /**
   * A service of fixed capacity: 20 workers of 100 ms (200 requests per second), a FIFO
   * queue beyond them, so latency grows with the requests in flight. What adaptive
   * concurrency finds: offered more than 200/s, a fixed limit lets the queue (and latency)
   * balloon. 20 at once is also the adaptive limit's default start: the gradient learns its
   * baseline latency there, unqueued.
   */
  capacity: { name: 'capacity', capacity: 20, serviceMs: 100 },
  /**
   * Overloaded: 5 workers of 50 ms (100 requests per second), no queue: past them, 429 at
   * once (without `Retry-After`; a 429 never trips the breaker, which stays out of the
   * picture). What client-side adaptive throttling answers: offered several times 100/s,
   * the API keeps refusing.
   */
  overload: {
    name: 'overload',
    capacity: 5,
    serviceMs: 50,
    queueLimit: 0,
    overloadStatus: 429,
  },
};

/**
 * A profile by name or as JSON (`{"errorRate":0.2}`), validated by the API's own rules.
 * Throws an `Error` whose message says what is wrong.
 */
export function parseProfile(text: string): NamedProfile {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new Error(`profile is not valid JSON: ${(error as Error).message}`);
    }
    try {
      return faultProfile(parsed);
    } catch (error) {
      if (error instanceof InvalidFaultProfileError) throw new Error(error.message);
      throw error;
    }
  }
  const named = NAMED_PROFILES[trimmed];
  if (!named) {
    throw new Error(
      `unknown profile "${trimmed}"; use one of ${Object.keys(NAMED_PROFILES).join(', ')} or a JSON object`,
    );
  }
  return named;
}

/** `10s`, `500ms`, `2m`, or a bare number of seconds → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration (e.g. 500ms, 10s, 2m)`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(value * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000));
}

/**
 * `healthy:3s,outage:4s,storm:5s` → phases back to back. A phase without a duration takes
 * the rest of the run (only allowed last).
 */
export function parsePhases(text: string, totalMs: number | undefined): Phase[] {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error('phases must not be empty');
  const phases: Phase[] = [];
  let startMs = 0;
  parts.forEach((part, index) => {
    const colon = part.lastIndexOf(':');
    const hasDuration = colon > 0 && !part.trim().endsWith('}');
    const profileText = hasDuration ? part.slice(0, colon) : part;
    let durationMs: number;
    if (hasDuration) {
      durationMs = parseDuration(part.slice(colon + 1));
      if (durationMs <= 0) throw new Error(`phase "${part}" must last longer than 0`);
    } else {
      if (index !== parts.length - 1)
        throw new Error(`phase "${part}" needs a duration (only the last may omit it)`);
      durationMs = Math.max(0, (totalMs ?? Number.POSITIVE_INFINITY) - startMs);
    }
    phases.push({ profile: parseProfile(profileText), startMs, durationMs });
    startMs += durationMs;
  });
  return phases;
}

/**
 * What the flaky API does wrong, and how often. Rates are shares of `/weatherforecast`
 * requests in [0, 1]; one draw per request picks at most one fault, so the rates add up
 * (their sum must be at most 1).
 */
export interface FaultProfile {
  /** A name shown in stats and logs, e.g. `healthy`, `5xx+429`. Default: `custom`. */
  readonly name: string;
  /** Share answered with a 5xx from `errorStatuses`. Default: 0. */
  readonly errorRate: number;
  /** Statuses used for `errorRate`, picked at random. Default: [500, 502, 503]. */
  readonly errorStatuses: readonly number[];
  /** Share answered 401 `invalid_token` although the token is valid. Default: 0. */
  readonly unauthorizedRate: number;
  /** Share answered 429 with `Retry-After: retryAfterSeconds`. Default: 0. */
  readonly rateLimitRate: number;
  /** The `Retry-After` of a 429, in seconds. Default: 1. */
  readonly retryAfterSeconds: number;
  /** Share whose connection is destroyed without a response (ECONNRESET). Default: 0. */
  readonly resetRate: number;
  /** Median added latency, in ms (log-normal). Default: 0 (none). */
  readonly latencyMedianMs: number;
  /** 99th percentile of the added latency, in ms. Default: same as the median. */
  readonly latencyP99Ms: number;
  /** Hard down: every request gets 503 at once, before any token check. Default: false. */
  readonly down: boolean;
  /**
   * Requests per second each client id may make (the client the IdP says the token belongs
   * to): a token bucket per client that holds this many and refills this many a second. Past
   * it, 429 with `Retry-After`; every answer of a client under a quota carries the
   * `RateLimit-Policy` and `RateLimit` headers. 0: no quota. Default: 0.
   */
  readonly quotaPerSecond: number;
  /**
   * Share of requests that are slow: they take `slowLatencyMs` instead of the log-normal
   * latency (a latency tail, what hedging cuts). Drawn on its own, not one of the faults, so
   * a slow request may also get a fault. 0: none. Default: 0.
   */
  readonly slowRate: number;
  /** How long a slow request takes, in ms. Default: 500. */
  readonly slowLatencyMs: number;
  /**
   * A service of fixed capacity: `capacity` parallel workers, each holding a request for
   * `serviceMs` plus its drawn latency; beyond them requests wait in one FIFO queue, so the
   * latency a client sees grows with the requests in flight. A request whose client leaves
   * while it waits is dropped from the queue. 0: no limit (no queue). Default: 0.
   */
  readonly capacity: number;
  /** How long a worker of `capacity` holds a request, in ms. Default: 10. */
  readonly serviceMs: number;
  /**
   * Requests that may wait for a worker of `capacity`; one more is refused at once with
   * `overloadStatus` (an overloaded service shedding load). Default: 1 000 000 (no limit in
   * practice).
   */
  readonly queueLimit: number;
  /** The status of a request refused past `queueLimit`: 503 or 429, without `Retry-After`. Default: 503. */
  readonly overloadStatus: number;
}

/** The healthy profile: no faults, no added latency. */
export const HEALTHY_PROFILE: FaultProfile = Object.freeze({
  name: 'healthy',
  errorRate: 0,
  errorStatuses: Object.freeze([500, 502, 503]),
  unauthorizedRate: 0,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  resetRate: 0,
  latencyMedianMs: 0,
  latencyP99Ms: 0,
  down: false,
  quotaPerSecond: 0,
  slowRate: 0,
  slowLatencyMs: 500,
  capacity: 0,
  serviceMs: 10,
  queueLimit: 1_000_000,
  overloadStatus: 503,
});

const RATE_FIELDS = ['errorRate', 'unauthorizedRate', 'rateLimitRate', 'resetRate'] as const;
/**
 * The fields a profile may set. A Set, not `key in HEALTHY_PROFILE`: `in` also finds what
 * every object inherits (`constructor`, `toString`, `__proto__`), which a JSON body can name.
 */
const KNOWN_FIELDS: ReadonlySet<string> = new Set(Object.keys(HEALTHY_PROFILE));
const MAX_QUOTED_KEY = 64;
const MAX_LATENCY_MS = 60_000; // 1 min
const MAX_RETRY_AFTER_SECONDS = 3_600; // 1 h
const MAX_QUOTA_PER_SECOND = 1_000_000;
const MAX_CAPACITY = 100_000;
const MAX_QUEUE_LIMIT = 1_000_000;

/** Thrown when a profile is invalid; the message names the field and the allowed range. */
export class InvalidFaultProfileError extends Error {
  readonly code = 'ERR_INVALID_FAULT_PROFILE';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidFaultProfileError';
  }
}

/**
 * Validate a partial profile (e.g. the JSON body of `PUT /admin/profile`) and fill the rest
 * from the healthy profile. Unknown fields are refused, so a typo never silently does nothing.
 *
 * @example faultProfile({ name: 'storm', errorRate: 0.2, rateLimitRate: 0.1 })
 */
export function faultProfile(input: unknown): FaultProfile {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidFaultProfileError('fault profile must be a JSON object');
  }
  const fields = input as Record<string, unknown>;
  // Own keys only (JSON.parse makes `__proto__` an own key; inherited ones are never read).
  for (const key of Object.keys(fields)) {
    if (!KNOWN_FIELDS.has(key)) {
      throw new InvalidFaultProfileError(
        `fault profile: unknown field ${JSON.stringify(key.slice(0, MAX_QUOTED_KEY))}; allowed: ${[...KNOWN_FIELDS].join(', ')}`,
      );
    }
  }
  const profile = { ...HEALTHY_PROFILE, name: 'custom', ...fields } as FaultProfile;

  if (typeof profile.name !== 'string' || profile.name.length === 0 || profile.name.length > 64) {
    throw new InvalidFaultProfileError('fault profile: `name` must be a string of 1 to 64 chars');
  }
  for (const field of RATE_FIELDS) {
    assertNumberIn(field, profile[field], 0, 1);
  }
  const sum = RATE_FIELDS.reduce((total, field) => total + profile[field], 0);
  if (sum > 1 + 1e-9) {
    throw new InvalidFaultProfileError(
      `fault profile: errorRate + unauthorizedRate + rateLimitRate + resetRate must be at most 1, got ${sum}`,
    );
  }
  if (
    !Array.isArray(profile.errorStatuses) ||
    profile.errorStatuses.length === 0 ||
    !profile.errorStatuses.every(
      (status) => Number.isInteger(status) && status >= 500 && status <= 599,
    )
  ) {
    throw new InvalidFaultProfileError(
      'fault profile: `errorStatuses` must be a non-empty list of integers in [500, 599]',
    );
  }
  assertNumberIn('retryAfterSeconds', profile.retryAfterSeconds, 0, MAX_RETRY_AFTER_SECONDS);
  if (!Number.isInteger(profile.retryAfterSeconds)) {
    throw new InvalidFaultProfileError('fault profile: `retryAfterSeconds` must be an integer');
  }
  assertNumberIn('latencyMedianMs', profile.latencyMedianMs, 0, MAX_LATENCY_MS);
  const latencyP99Ms = Object.hasOwn(fields, 'latencyP99Ms')
    ? profile.latencyP99Ms
    : Math.max(profile.latencyMedianMs, 0);
  assertNumberIn('latencyP99Ms', latencyP99Ms, profile.latencyMedianMs, MAX_LATENCY_MS);
  assertNumberIn('quotaPerSecond', profile.quotaPerSecond, 0, MAX_QUOTA_PER_SECOND);
  if (!Number.isInteger(profile.quotaPerSecond)) {
    throw new InvalidFaultProfileError('fault profile: `quotaPerSecond` must be an integer');
  }
  assertNumberIn('slowRate', profile.slowRate, 0, 1);
  assertNumberIn('slowLatencyMs', profile.slowLatencyMs, 0, MAX_LATENCY_MS);
  assertIntegerIn('capacity', profile.capacity, 0, MAX_CAPACITY);
  assertNumberIn('serviceMs', profile.serviceMs, 0, MAX_LATENCY_MS);
  assertIntegerIn('queueLimit', profile.queueLimit, 0, MAX_QUEUE_LIMIT);
  if (profile.overloadStatus !== 503 && profile.overloadStatus !== 429) {
    throw new InvalidFaultProfileError(
      `fault profile: \`overloadStatus\` must be 503 or 429, got ${JSON.stringify(profile.overloadStatus)}`,
    );
  }
  if (typeof profile.down !== 'boolean') {
    throw new InvalidFaultProfileError('fault profile: `down` must be true or false');
  }
  return Object.freeze({
    ...profile,
    latencyP99Ms,
    errorStatuses: Object.freeze([...profile.errorStatuses]),
  });
}

function assertNumberIn(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidFaultProfileError(
      `fault profile: \`${field}\` must be a number in [${min}, ${max}], got ${JSON.stringify(value)}`,
    );
  }
}

function assertIntegerIn(field: string, value: unknown, min: number, max: number): void {
  assertNumberIn(field, value, min, max);
  if (!Number.isInteger(value)) {
    throw new InvalidFaultProfileError(`fault profile: \`${field}\` must be an integer`);
  }
}

/** The fields that differ from the healthy profile, compactly: what a log reader needs. */
export function describeProfile(profile: FaultProfile): string {
  const changed = Object.entries(profile).filter(
    ([key, value]) =>
      key !== 'name' &&
      JSON.stringify(value) !== JSON.stringify(HEALTHY_PROFILE[key as keyof FaultProfile]),
  );
  return changed.length === 0
    ? '(no faults)'
    : changed.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(' ');
}

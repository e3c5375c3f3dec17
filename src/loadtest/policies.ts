import type { ClientOptions } from 'steadfast';
import { InvalidConfigurationError } from 'steadfast';
import type { StrategyName } from './report/summary.js';
import type { PolicyName } from './types.js';

/** One line per policy, for `--help` and the reports. */
export const POLICY_DESCRIPTIONS: Readonly<Record<PolicyName, string>> = {
  none: 'no resilience: one attempt, no retry, no breaker, no 401 re-send',
  'retry-no-budget': 'retry 3× with backoff and jitter, Retry-After; no budget, no breaker',
  'retry-budget': 'retry 3× with backoff and jitter, Retry-After, within a 20 % retry budget',
  standard: 'the standard pipeline: limiter, deadline, retry + budget, re-authorization, breaker',
  naive:
    'hand-rolled: retry every non-success but 401 (3×, 10 s·f + jitter) around a 401 retry (3×, same delay) that fetches a new token each time',
  'standard+quota':
    "standard, plus a fleet quota at the API's limit per client id (shared through Redis by the worker processes) and the server-driven cooldown",
  'standard+hedging':
    'standard, plus latency hedging: a second attempt when the first has not answered within the learnt delay (p90), within the hedging budget (10 % of calls + 1/s)',
  'standard+fallback':
    'standard, plus fallback with serve-stale: the last good answer (up to 5 min old) in place of a breaker-open call, a timeout, a 5xx after the retries, ...',
  'standard+adaptive':
    "standard, with an adaptive concurrency limit per origin instead of the fixed 1 000: it follows the API's latency and finds its capacity",
  'standard+throttle':
    'standard, plus client-side adaptive throttling (SRE): while the API keeps refusing, a share of attempts is refused in the client instead of sent',
};

/** The fleet quota of the `standard+quota` preset: the downstream's limit for one client id. */
export interface QuotaPreset {
  /** The quota's name in the store: the client id the downstream counts by. */
  readonly key: string;
  /** Requests per second the downstream allows that client id. */
  readonly limitPerSecond: number;
}

/** The SDK client name of a policy (a metric label: no `+`). */
export function clientName(policy: PolicyName): string {
  return `loadtest-${policy.replace(/\+/g, '-')}`;
}

/** A fleet-quota key from a client id: the characters the SDK allows, at most 128. */
export function quotaKey(clientId: string | undefined): string {
  const key = (clientId ?? 'loadtest').replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 128);
  return key || 'loadtest';
}

/** Timeouts never shrink below these: a busy load generator must not manufacture timeouts. */
const MIN_ATTEMPT_TIMEOUT_MS = 2_000; // 2 s
const MIN_TOTAL_TIMEOUT_MS = 6_000; // 6 s

/** The attempt timeout of a run: 10 s × f, at least 2 s. The naive pattern uses it too. */
export function scaledAttemptTimeoutMs(timeFactor: number): number {
  return Math.max(10_000 * timeFactor, MIN_ATTEMPT_TIMEOUT_MS);
}

/**
 * The SDK options of a preset (everything but name, baseUrl, auth). The time constants of
 * the standard pipeline are scaled by `timeFactor` so a run compresses time as a whole
 * (backoff, breaker sampling window and break), except that timeouts keep a floor
 * (attempt ≥ 2 s, total ≥ 6 s) and the breaker window stays ≥ 2 × the attempt timeout, as
 * validation requires. f = 0.1: backoff base 200 ms, attempt 2 s, total 6 s, breaker window
 * 4 s, break 500 ms. `random` seeds the jitter. `standard+quota` adds `quota` (limit per
 * 1 s, the SDK's other quota defaults) and `cooldown: true`; it needs `quota`. The other
 * `standard+` presets add one strategy with its defaults, as a user who turns it on gets it:
 * `hedging`, `fallback` (serve-stale), `concurrency.adaptive` (gradient), and
 * `adaptiveThrottle`, whose history window (2 min) is scaled by f.
 */
export function presetOptions(
  policy: Exclude<PolicyName, 'naive'>,
  timeFactor: number,
  random: () => number,
  quota?: QuotaPreset,
): Partial<ClientOptions> {
  const f = timeFactor;
  const attemptTimeoutMs = scaledAttemptTimeoutMs(f);
  const timeouts = {
    totalTimeoutMs: Math.max(30_000 * f, MIN_TOTAL_TIMEOUT_MS), // 30 s × f
    attemptTimeoutMs, // 10 s × f
  };
  const retry = {
    baseDelayMs: 2_000 * f, // 2 s × f
    maxDelayMs: 30_000 * f, // 30 s × f
    random,
  };
  switch (policy) {
    case 'none':
      return { ...timeouts, retry: false, circuitBreaker: false };
    case 'retry-no-budget':
      return { ...timeouts, retry: { ...retry, budget: false }, circuitBreaker: false };
    case 'retry-budget':
      return { ...timeouts, retry, circuitBreaker: false };
    case 'standard':
    case 'standard+quota':
    case 'standard+hedging':
    case 'standard+fallback':
    case 'standard+adaptive':
    case 'standard+throttle': {
      const standard = {
        ...timeouts,
        retry,
        circuitBreaker: {
          samplingDurationMs: Math.max(30_000 * f, 2 * attemptTimeoutMs), // 30 s × f
          breakDurationMs: 5_000 * f, // 5 s × f
        },
      };
      switch (policy) {
        case 'standard':
          return standard;
        case 'standard+quota':
          if (quota === undefined)
            throw new TypeError('presetOptions: standard+quota needs a quota');
          return {
            ...standard,
            quota: { key: quota.key, limit: quota.limitPerSecond, intervalMs: 1000 }, // per 1 s
            cooldown: true,
          };
        // The strategies' own defaults: what a user who turns one on gets.
        case 'standard+hedging':
          return { ...standard, hedging: {} };
        case 'standard+fallback':
          return { ...standard, fallback: {} };
        case 'standard+adaptive':
          return { ...standard, concurrency: { adaptive: {} } };
        case 'standard+throttle':
          // Its history is a waiting constant like the breaker's window: 2 min × f.
          return { ...standard, adaptiveThrottle: { windowMs: Math.max(120_000 * f, 100) } };
      }
    }
  }
}

/** The newer strategies a policy's client has, `--override` included; none for `naive`. */
export function policyStrategies(
  policy: PolicyName,
  overrides: Record<string, unknown>,
): StrategyName[] {
  if (policy === 'naive') return [];
  const preset = presetOptions(policy, 1, Math.random, { key: 'loadtest', limitPerSecond: 1 });
  return strategiesOf(mergeOptions(preset as Record<string, unknown>, overrides));
}

/**
 * The newer strategies a client has, read from its options (a preset's, with `--override`
 * merged): a section that is there and not `false`.
 */
export function strategiesOf(options: Record<string, unknown>): StrategyName[] {
  const on = (value: unknown) => value !== undefined && value !== false;
  const concurrency = options.concurrency as Record<string, unknown> | undefined;
  const found: StrategyName[] = [];
  if (on(options.hedging)) found.push('hedging');
  if (on(options.fallback)) found.push('fallback');
  if (on(concurrency?.adaptive)) found.push('adaptive');
  if (on(options.adaptiveThrottle)) found.push('throttle');
  return found;
}

/** Deep-merge plain objects (`override` wins); arrays and other values are replaced. */
export function mergeOptions(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] =
      isPlainObject(current) && isPlainObject(value) ? mergeOptions(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuse overrides that the load tester itself owns (they would silently do nothing). */
export function checkOverrides(overrides: Record<string, unknown>): void {
  for (const key of ['name', 'baseUrl', 'auth', 'telemetry', 'transport']) {
    if (key in overrides) {
      throw new InvalidConfigurationError(
        key,
        'is set by the load tester and cannot be overridden with --override',
      );
    }
  }
}

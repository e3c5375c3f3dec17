import { redisTokenStore } from '@steadfast/redis';
import type { ClientOptions } from 'steadfast';
import {
  clientCredentials,
  createClient,
  errorTypeOf,
  HedgeCancelledError,
  isNonReplayableBodyError,
  isRetryBudgetExhaustedError,
  isTokenUnavailableError,
  type SteadfastClient,
} from 'steadfast';
import { Agent } from 'undici';
import { PHASE_HEADER, REQUEST_KEY_HEADER } from '../apps/fault-draw.js';
import { addWaited, type CallScope, perCallRandom, withCall } from './call-scope.js';
import { NaiveClient } from './naive.js';
import {
  clientName,
  mergeOptions,
  presetOptions,
  type QuotaPreset,
  scaledAttemptTimeoutMs,
} from './policies.js';
import type { Recorder } from './recorder.js';
import { HEDGE_CANCELLED } from './report/summary.js';
import type { PolicyName } from './types.js';

/** How one call ended, as the load tester counts it. */
export interface CallResult {
  readonly ok: boolean;
  /** `200`, another status, or an error type (`ECONNRESET`, `timeout`, `circuit_open`, ...). */
  readonly outcome: string;
}

/** Which call of the run this is. */
export interface CallInfo {
  /** Its number in the run (the schedule slot in the open model), across worker processes. */
  readonly index: number;
  /** When it was due, in ms since the run's start (closed model: when it started). */
  readonly intendedStartMs: number;
}

/** Something that makes one call of the load, by some policy. */
export interface Caller {
  call(signal: AbortSignal, call: CallInfo): Promise<CallResult>;
  close(): Promise<void>;
}

/** What a caller needs to know about the target and the run. */
export interface CallerSetup {
  readonly policy: PolicyName;
  /** Absolute URL every call requests. */
  readonly url: string;
  readonly auth:
    | {
        readonly tokenUrl: string;
        readonly clientId: string;
        readonly clientSecret: string;
        readonly scope?: string | undefined;
      }
    | undefined;
  /** Shared token store (several worker processes); in-memory when absent. */
  readonly redisUrl: string | undefined;
  /** Key prefix in Redis: one per policy run, the same for all its workers. */
  readonly storeKeyPrefix?: string;
  readonly seed: number;
  readonly timeFactor: number;
  readonly overrides: Record<string, unknown>;
  /**
   * Send `x-steadfast-request-key: <call index>` with every attempt of a call, so the demo
   * API draws each attempt's fault from (seed, call, attempt). Default: false.
   */
  readonly requestKeys?: boolean;
  /**
   * Start of each fault phase (ms since the run's start). With two or more, every attempt
   * carries `x-steadfast-phase: <index>`: the phase of the call's intended start plus the
   * retry delays (backoff, `Retry-After`) it waited before this attempt. Not the wall clock:
   * the phase of an attempt is then a function of (seed, call, attempt) too.
   */
  readonly phaseStartsMs?: readonly number[];
  /** The fleet quota of the `standard+quota` policy (required by it, ignored by the others). */
  readonly quota?: QuotaPreset;
  readonly recorder: Recorder;
}

/**
 * The headers that make an attempt's faults reproducible: the call's key (the same on every
 * attempt: set once per call, the SDK re-sends the call's headers) and the attempt's phase
 * ({@link phaseOf}). `undefined` when there is nothing to send.
 */
function callHeaders(
  setup: Pick<CallerSetup, 'requestKeys' | 'phaseStartsMs'>,
): ((call: CallScope) => Record<string, string>) | undefined {
  const starts = setup.phaseStartsMs ?? [];
  const keys = setup.requestKeys === true;
  if (!keys && starts.length < 2) return undefined;
  return (call) => {
    const headers: Record<string, string> = {};
    if (keys) headers[REQUEST_KEY_HEADER] = call.key;
    if (starts.length >= 2) headers[PHASE_HEADER] = phaseOf(starts, call);
    return headers;
  };
}

/**
 * The phase header of a call's next attempt: the index of the phase that the call's intended
 * start plus the retry delays waited so far falls in (the last one starting at or before it).
 */
function phaseOf(startsMs: readonly number[], call: CallScope): string {
  const t = call.intendedStartMs + call.waitedMs;
  let index = 0;
  for (let i = 1; i < startsMs.length; i++) if (startsMs[i]! <= t) index = i;
  return String(index);
}

/**
 * Chaos (from `--override`) draws, like the retry jitter, from a stream per call, seeded by
 * its own `seed` or the run's: each attempt's draws are then the same in every run.
 */
function withPerCallChaos(overrides: Record<string, unknown>, seed: number) {
  const chaos = overrides.chaos;
  if (typeof chaos !== 'object' || chaos === null || Array.isArray(chaos)) return overrides;
  const bag = chaos as Record<string, unknown>;
  if ('random' in bag) return overrides;
  const chaosSeed = typeof bag.seed === 'number' ? bag.seed : seed;
  return { ...overrides, chaos: { ...bag, random: perCallRandom(chaosSeed, 'chaos') } };
}

/**
 * Adaptive throttling (a preset's or `--override`'s) draws, like the retry jitter, from a
 * stream per call: which attempt it refuses is then a function of the call, given the same
 * counts.
 */
function withPerCallThrottle(options: Record<string, unknown>, seed: number) {
  const throttle = options.adaptiveThrottle;
  if (typeof throttle !== 'object' || throttle === null || Array.isArray(throttle)) return options;
  if ('random' in throttle) return options;
  return { ...options, adaptiveThrottle: { ...throttle, random: perCallRandom(seed, 'throttle') } };
}

/** Build the caller of a policy: the SDK with a preset, or the naive hand-rolled pattern. */
export function createCaller(setup: CallerSetup): Caller {
  if (setup.policy === 'naive') return naiveCaller(setup);
  return sdkCaller(setup, setup.policy);
}

function sdkCaller(setup: CallerSetup, policy: Exclude<PolicyName, 'naive'>): Caller {
  const { recorder } = setup;
  const url = new URL(setup.url);
  const store = setup.redisUrl
    ? redisTokenStore({
        url: setup.redisUrl,
        keyPrefix: setup.storeKeyPrefix ?? 'steadfast:loadtest:',
      })
    : undefined;
  const auth = setup.auth
    ? clientCredentials({
        tokenUrl: setup.auth.tokenUrl,
        clientId: setup.auth.clientId,
        clientSecret: setup.auth.clientSecret,
        ...(setup.auth.scope ? { scope: setup.auth.scope } : {}),
        ...(store ? { store } : {}),
        // "No resilience" means no 401 re-send either.
        ...(policy === 'none' ? { maxReauthorizations: 0 } : {}),
        logError: () => {},
      })
    : undefined;
  // The worker processes share the quota and the pauses through the token store's Redis.
  const fleet =
    policy === 'standard+quota' && store ? { quota: { store }, cooldown: { store } } : {};
  const options = withPerCallThrottle(
    mergeOptions(
      mergeOptions(
        {
          name: clientName(policy),
          baseUrl: url.origin,
          ...(auth ? { auth } : {}),
          telemetry: { metrics: false, tracing: false },
          ...presetOptions(
            policy,
            setup.timeFactor,
            perCallRandom(setup.seed, 'jitter'),
            setup.quota,
          ),
        },
        fleet,
      ),
      withPerCallChaos(setup.overrides, setup.seed),
    ),
    setup.seed,
  ) as unknown as ClientOptions;
  const client: SteadfastClient = createClient(options);
  const { events } = client;
  events.attemptEnd.event((e) => {
    const status = e.outcome.kind === 'response' ? String(e.outcome.response.status) : undefined;
    const cancelled =
      e.outcome.kind === 'error' && e.outcome.error.cause instanceof HedgeCancelledError;
    recorder.attempt(cancelled ? HEDGE_CANCELLED : (e.errorType ?? status ?? '_OTHER'));
  });
  // The newer strategies' events; an emitter without a listener costs nothing.
  events.hedge.event((e) => recorder.strategy(e.skipped ? 'hedge_skipped' : 'hedge'));
  events.hedgeEnd.event((e) => {
    recorder.strategy('hedged_call');
    if (e.winner !== undefined && e.winner > 0) recorder.strategy('hedge_won');
    for (let i = 0; i < e.cancelled; i++) recorder.strategy('hedge_cancelled');
  });
  events.fallback.event((e) => recorder.strategy(e.served ? e.kind : 'fallback_missed'));
  events.concurrencyLimit.event((e) => recorder.concurrencyLimit(e.origin, e.limit, e.previous));
  events.throttle.event(() => recorder.strategy('throttled'));
  events.retry.event((e) => recorder.retry(e.reason, e.delayMs, e.delaySource));
  const starts = setup.phaseStartsMs ?? [];
  if (starts.length >= 2) {
    // The re-send that follows belongs to the phase after the wait, on the call's own clock.
    events.retry.event((e) => {
      const call = addWaited(e.delayMs);
      if (call !== undefined) e.ctx.headers[PHASE_HEADER] = phaseOf(starts, call);
    });
  }
  events.reauthorize.event((e) => {
    if (e.resent) recorder.retry('401', 0, 'reauthorize');
  });
  events.breakerTransition.event((e) => recorder.breaker(e.origin, e.from, e.to));
  auth?.tokenEvents.fetchStart.event(() => recorder.tokenFetch());
  const path = url.pathname + url.search;
  const headersOf = callHeaders(setup);

  return {
    async call(signal, call) {
      try {
        const res = await withCall(String(call.index), call.intendedStartMs, (scope) =>
          client.fetch(path, headersOf ? { signal, headers: headersOf(scope) } : { signal }),
        );
        await res.arrayBuffer();
        return { ok: res.status >= 200 && res.status < 300, outcome: String(res.status) };
      } catch (error) {
        return { ok: false, outcome: errorOutcome(error) };
      }
    },
    close: () => client.close(),
  };
}

function errorOutcome(error: unknown): string {
  if (isRetryBudgetExhaustedError(error)) return 'retry_budget_exhausted';
  if (isTokenUnavailableError(error)) return 'token_unavailable';
  if (isNonReplayableBodyError(error)) return 'non_replayable_body';
  return errorTypeOf({ kind: 'error', error: error as Error }) ?? 'aborted';
}

function naiveCaller(setup: CallerSetup): Caller {
  const headersOf = callHeaders(setup);
  const dispatcher = new Agent({ connections: 128, keepAliveTimeout: 4_000 });
  const naive = new NaiveClient({
    url: setup.url,
    auth: setup.auth,
    retries: 3,
    delayMs: 10_000 * setup.timeFactor, // 10 s × f, as in the pattern it imitates
    attemptTimeoutMs: scaledAttemptTimeoutMs(setup.timeFactor), // as the SDK presets'
    random: perCallRandom(setup.seed, 'jitter'),
    dispatcher,
    onAttempt: (outcome) => setup.recorder.attempt(outcome),
    onRetry: (reason, delayMs) => {
      setup.recorder.retry(reason, delayMs, 'backoff');
      addWaited(delayMs);
    },
    onTokenFetch: () => setup.recorder.tokenFetch(),
  });
  return {
    call: (signal, call) =>
      withCall(String(call.index), call.intendedStartMs, (scope) =>
        naive.call(signal, headersOf && (() => headersOf(scope))),
      ),
    close: () => dispatcher.close(),
  };
}

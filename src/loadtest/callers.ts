import { Agent } from 'undici';
import { clientCredentials } from '../auth/index.js';
import { redisTokenStore } from '../auth/store/redis.js';
import { createClient, type SteadfastClient } from '../client.js';
import type { ClientOptions } from '../config/options.js';
import {
  isNonReplayableBodyError,
  isRetryBudgetExhaustedError,
  isTokenUnavailableError,
} from '../errors.js';
import { errorTypeOf } from '../http/classify.js';
import { seededRandom } from '../strategies/chaos/index.js';
import { NaiveClient } from './naive.js';
import { mergeOptions, presetOptions, scaledAttemptTimeoutMs } from './policies.js';
import type { Recorder } from './recorder.js';
import type { PolicyName } from './types.js';

/** How one call ended, as the load tester counts it. */
export interface CallResult {
  readonly ok: boolean;
  /** `200`, another status, or an error type (`ECONNRESET`, `timeout`, `circuit_open`, ...). */
  readonly outcome: string;
}

/** Something that makes one call of the load, by some policy. */
export interface Caller {
  call(signal: AbortSignal): Promise<CallResult>;
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
  readonly recorder: Recorder;
}

/** Build the caller of a policy: the SDK with a preset, or the naive hand-rolled pattern. */
export function createCaller(setup: CallerSetup): Caller {
  if (setup.policy === 'naive') return naiveCaller(setup);
  return sdkCaller(setup, setup.policy);
}

function sdkCaller(setup: CallerSetup, policy: Exclude<PolicyName, 'naive'>): Caller {
  const { recorder } = setup;
  const url = new URL(setup.url);
  const auth = setup.auth
    ? clientCredentials({
        tokenUrl: setup.auth.tokenUrl,
        clientId: setup.auth.clientId,
        clientSecret: setup.auth.clientSecret,
        ...(setup.auth.scope ? { scope: setup.auth.scope } : {}),
        ...(setup.redisUrl
          ? {
              store: redisTokenStore({
                url: setup.redisUrl,
                keyPrefix: setup.storeKeyPrefix ?? 'steadfast:loadtest:',
              }),
            }
          : {}),
        // "No resilience" means no 401 re-send either.
        ...(policy === 'none' ? { maxReauthorizations: 0 } : {}),
        logError: () => {},
      })
    : undefined;
  const options = mergeOptions(
    {
      name: `loadtest-${policy}`,
      baseUrl: url.origin,
      ...(auth ? { auth } : {}),
      telemetry: { metrics: false, tracing: false },
      ...presetOptions(policy, setup.timeFactor, seededRandom(setup.seed)),
    },
    setup.overrides,
  ) as unknown as ClientOptions;
  const client: SteadfastClient = createClient(options);
  const { events } = client;
  events.attemptEnd.event((e) => {
    const status = e.outcome.kind === 'response' ? String(e.outcome.response.status) : undefined;
    recorder.attempt(e.errorType ?? status ?? '_OTHER');
  });
  events.retry.event((e) => recorder.retry(e.reason, e.delayMs, e.delaySource));
  events.reauthorize.event((e) => {
    if (e.resent) recorder.retry('401', 0, 'reauthorize');
  });
  events.breakerTransition.event((e) => recorder.breaker(e.origin, e.from, e.to));
  auth?.tokenEvents.fetchStart.event(() => recorder.tokenFetch());
  const path = url.pathname + url.search;

  return {
    async call(signal) {
      try {
        const res = await client.fetch(path, { signal });
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
  const dispatcher = new Agent({ connections: 128, keepAliveTimeout: 4_000 });
  const naive = new NaiveClient({
    url: setup.url,
    auth: setup.auth,
    retries: 3,
    delayMs: 10_000 * setup.timeFactor, // 10 s × f, as in the pattern it imitates
    attemptTimeoutMs: scaledAttemptTimeoutMs(setup.timeFactor), // as the SDK presets'
    random: seededRandom(setup.seed),
    dispatcher,
    onAttempt: (outcome) => setup.recorder.attempt(outcome),
    onRetry: (reason, delayMs) => setup.recorder.retry(reason, delayMs, 'backoff'),
    onTokenFetch: () => setup.recorder.tokenFetch(),
  });
  return {
    call: (signal) => naive.call(signal),
    close: () => dispatcher.close(),
  };
}

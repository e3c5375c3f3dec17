import type { FaultProfile } from '../apps/fault-profile.js';

/** The policies `steadfast loadtest` knows, each a named preset. */
export const POLICY_NAMES = [
  'none',
  'retry-no-budget',
  'retry-budget',
  'standard',
  'naive',
  'standard+quota',
  'standard+hedging',
  'standard+fallback',
  'standard+adaptive',
  'standard+throttle',
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/**
 * What the client's events of the newer strategies say, one entry per event (a hedged call's
 * cancelled attempts: one each):
 * - `hedge`: a hedged attempt sent; `hedge_skipped`: not sent, the hedging budget was spent;
 * - `hedged_call`: a call whose hedged attempts ended; `hedge_won`: and a hedge (not the
 *   first attempt) answered first; `hedge_cancelled`: an attempt cancelled when another won;
 * - `stale`, `handler`: a fallback served (the last good response, or the handler's);
 *   `fallback_missed`: a fallback found nothing to serve;
 * - `throttled`: an attempt refused in the client by adaptive throttling.
 */
export const STRATEGY_EVENT_KINDS = [
  'hedge',
  'hedge_skipped',
  'hedged_call',
  'hedge_won',
  'hedge_cancelled',
  'stale',
  'handler',
  'fallback_missed',
  'throttled',
] as const;
export type StrategyEventKind = (typeof STRATEGY_EVENT_KINDS)[number];

/** One phase of the demo API's fault profile: from `startMs` on, the API behaves like `profile`. */
export interface Phase {
  readonly profile: Partial<FaultProfile> & { readonly name: string };
  readonly startMs: number;
  readonly durationMs: number;
}

/** How calls are driven. */
export type LoadModel =
  /** Open model: calls start on a fixed schedule whatever happens to earlier calls. */
  | { readonly kind: 'open'; readonly ratePerSecond: number }
  /** Closed model: `concurrency` loops, each starting a call when its previous one ended. */
  | { readonly kind: 'closed'; readonly concurrency: number };

/** Where calls go. */
export type Target =
  /** The demo flaky API and IdP, started in-process with the given phases. */
  | { readonly kind: 'demo'; readonly phases: readonly Phase[] }
  /** Any URL; optional OAuth2 client credentials. */
  | {
      readonly kind: 'url';
      readonly url: string;
      readonly auth?: {
        readonly tokenUrl: string;
        readonly clientId: string;
        readonly clientSecret: string;
        readonly scope?: string;
      };
    };

/** A validated `steadfast loadtest` configuration. */
export interface LoadtestConfig {
  readonly target: Target;
  readonly model: LoadModel;
  /** Stop scheduling after this long, or after `calls` calls (whichever is set). */
  readonly durationMs: number | undefined;
  readonly calls: number | undefined;
  readonly policies: readonly PolicyName[];
  /** JSON merged into the SDK client options of every SDK policy. */
  readonly overrides: Record<string, unknown>;
  /** Scales waiting constants (backoff, naive delays, breaker break) so a run stays short. */
  readonly timeFactor: number;
  readonly seed: number;
  readonly workers: number;
  readonly redisUrl: string | undefined;
  /** `--redis private`: start a redis-server for the run (`redisUrl` is then undefined). */
  readonly privateRedis: boolean;
  /**
   * The `standard+quota` policy's fleet quota: the API's limit per client id, requests per
   * second. Set when that policy runs, else undefined.
   */
  readonly quotaLimit: number | undefined;
  readonly maxInflight: number;
  readonly outDir: string;
  /** Base name of the report files (without extension). */
  readonly reportName: string;
  /** Progress on stderr: `auto` (TTY-aware), `plain` lines, or `off`. */
  readonly progress: 'auto' | 'plain' | 'off';
}

/**
 * What one process measured during one policy's run, in plain arrays so it crosses the IPC
 * channel from a worker unchanged. Times are ms since the run's start.
 */
export interface RawRun {
  /** Intended start of each call. */
  readonly callStart: number[];
  /** End minus intended start (open model: includes time queued behind the schedule). */
  readonly callLatency: number[];
  /** 1 when the call ended with a 2xx. */
  readonly callOk: number[];
  /** `2xx`, a status, an error type (`ECONNRESET`, `timeout`, `circuit_open`, ...). */
  readonly callOutcome: string[];
  /** Wire attempts: end time and outcome (status or error type). */
  readonly attemptEnd: number[];
  readonly attemptOutcome: string[];
  /** Re-sends: time, reason (trigger), delay, delay source. */
  readonly retryAt: number[];
  readonly retryReason: string[];
  readonly retryDelayMs: number[];
  readonly retrySource: string[];
  readonly breaker: { t: number; origin: string; from: string; to: string }[];
  /** Token-endpoint requests this process made (client side). */
  readonly tokenFetchAt: number[];
  /**
   * What the newer strategies did, from the client's events: time and kind, one entry each
   * (see {@link StrategyEventKind}).
   */
  readonly strategyAt: number[];
  readonly strategyKind: StrategyEventKind[];
  /**
   * Each move of an adaptive concurrency limit: the process (pid), origin, new limit and the
   * one before (an origin's first move says where it started).
   */
  readonly limit: { t: number; process: number; origin: string; limit: number; previous: number }[];
  /** Calls not started because `maxInflight` calls were already running. */
  skipped: number;
  /** Calls cut short by Ctrl-C. */
  aborted: number;
}

export function emptyRawRun(): RawRun {
  return {
    callStart: [],
    callLatency: [],
    callOk: [],
    callOutcome: [],
    attemptEnd: [],
    attemptOutcome: [],
    retryAt: [],
    retryReason: [],
    retryDelayMs: [],
    retrySource: [],
    breaker: [],
    tokenFetchAt: [],
    strategyAt: [],
    strategyKind: [],
    limit: [],
    skipped: 0,
    aborted: 0,
  };
}

/** Append `from` to `into` (merging workers' measurements). */
export function mergeRawRun(into: RawRun, from: RawRun): void {
  for (const key of Object.keys(into) as (keyof RawRun)[]) {
    const target = into[key];
    if (Array.isArray(target)) (target as unknown[]).push(...(from[key] as unknown[]));
  }
  into.skipped += from.skipped;
  into.aborted += from.aborted;
}

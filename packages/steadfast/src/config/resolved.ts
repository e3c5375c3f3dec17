import type { Authorization } from '../auth/types.js';
import type { WireHeaders } from '../pipeline/types.js';
import type { ResolvedAdaptiveThrottleOptions } from '../strategies/adaptive-throttle/index.js';
import type { ResolvedChaosOptions } from '../strategies/chaos/types.js';
import type { ResolvedCooldownOptions } from '../strategies/cooldown/index.js';
import type { ResolvedFallbackOptions } from '../strategies/fallback/index.js';
import type { ResolvedQuotaOptions } from '../strategies/fleet-quota/index.js';
import type { ResolvedHooks } from '../strategies/hooks/types.js';
import type { ResolvedRateLimitOptions } from '../strategies/rate-limit/index.js';
import type { TelemetryOptions } from '../telemetry/types.js';
import type {
  BACKOFF_KINDS,
  circuitBreakerSchema,
  concurrencySchema,
  retrySchema,
  transportSchema,
} from './client-schema.js';
import type { ResolvedHedgingOptions } from './hedging-schema.js';
import type { Resolved } from './schema.js';

/** Backoff shapes. `exponential` doubles `baseDelayMs` per retry. */
export type BackoffKind = (typeof BACKOFF_KINDS)[number];

type Retry = Resolved<typeof retrySchema>;

/** Options after validation and defaults (config/validate.ts): everything present, read-only. */
export interface ResolvedOptions {
  readonly name: string;
  readonly baseUrl: URL | undefined;
  readonly auth: Authorization | undefined;
  readonly concurrency: Readonly<Resolved<typeof concurrencySchema>>;
  readonly totalTimeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly bodyTimeoutMs: number;
  /** Origins the token of `auth` may be sent to: `baseUrl`'s and `authOrigins`. */
  readonly authOrigins: ReadonlySet<string>;
  readonly retry: (Readonly<Omit<Retry, 'random'>> & { readonly random: () => number }) | false;
  readonly circuitBreaker: Readonly<Resolved<typeof circuitBreakerSchema>> | false;
  readonly transport: Readonly<Resolved<typeof transportSchema>>;
  readonly telemetry: TelemetryOptions | undefined;
  /** `baseUrl`'s origin and `origins`, without repeats. */
  readonly origins: readonly string[];
  readonly chaos: ResolvedChaosOptions | false;
  /** Default request headers, names lower-cased; `undefined` when none were given. */
  readonly headers: Readonly<WireHeaders> | undefined;
  /** The hooks, each as a non-empty list or `undefined`. */
  readonly hooks: ResolvedHooks;
  readonly rateLimit: ResolvedRateLimitOptions | false;
  /** The fleet quota, its store chosen (given, `auth`'s, or this process's). */
  readonly quota: ResolvedQuotaOptions | false;
  /** The cooldown, its store and namespace chosen. */
  readonly cooldown: ResolvedCooldownOptions | false;
  /** Client-side adaptive throttling (SRE book), per origin. */
  readonly adaptiveThrottle: ResolvedAdaptiveThrottleOptions | false;
  /** The fallback (serve stale, handler) for the failures it names. */
  readonly fallback: ResolvedFallbackOptions | false;
  /** Latency hedging, its endpoint group's origins normalised. */
  readonly hedging: ResolvedHedgingOptions | false;
}

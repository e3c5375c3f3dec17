// Its own package (`@steadfast/redis`): only apps that share tokens load ioredis.
import { redisTokenStore } from '@steadfast/redis';
import type { ClientOptions } from 'steadfast';
import { clientCredentials, createClient, memoryTokenStore, type SteadfastClient } from 'steadfast';

/** `standard`: the SDK's defaults. `demo`: short timeouts, a quick breaker, a fleet quota and server-driven pauses, so a demo of a minute shows every behaviour. */
export type PipelinePreset = 'standard' | 'demo';

/** Options of {@link createWorkerClient}. */
export interface WorkerClientOptions {
  /** `client` label of the metrics. Default: `weather`. */
  readonly name?: string;
  /** Base URL of the API, e.g. `http://127.0.0.1:8080`. */
  readonly apiUrl: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Space-separated scopes. Default: none. */
  readonly scope?: string;
  /** Share the token through this Redis; without it the token stays in this process. */
  readonly redisUrl?: string;
  /** Key prefix in Redis. Default: the SDK's (`steadfast:`). */
  readonly redisKeyPrefix?: string;
  /** Default: `standard`. */
  readonly preset?: PipelinePreset;
  /** Where the SDK's auth circuit writes its one error line. Default: the SDK's (`console.error`). */
  readonly logError?: (line: string) => void;
}

/** The demo preset: every behaviour shows within a minute at ~10–50 calls/s. */
const DEMO_PIPELINE: Pick<
  ClientOptions,
  'totalTimeoutMs' | 'attemptTimeoutMs' | 'retry' | 'circuitBreaker' | 'quota' | 'cooldown'
> = {
  totalTimeoutMs: 5_000, // 5 s
  attemptTimeoutMs: 1_000, // 1 s
  retry: { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 5_000 },
  circuitBreaker: {
    failureRatio: 0.5,
    minimumThroughput: 20,
    samplingDurationMs: 10_000, // 10 s
    breakDurationMs: 3_000, // 3 s
  },
  // Shared through the token store's Redis when there is one. A quota well above the demo's
  // rate (500 attempts/s for the fleet); a 429 with Retry-After pauses the API for the whole
  // fleet, and an attempt that would wait more than 500 ms for the pause to end fails with
  // RateLimitedError, so every panel of the "Rate limits & quotas" row has data.
  quota: { key: 'weather-demo', limit: 500 },
  cooldown: { maxWaitMs: 500 },
};

/**
 * The worker's SDK client: client credentials at the IdP, the token shared through Redis
 * when `redisUrl` is given, the standard pipeline (or the demo preset).
 *
 * @example
 * const client = createWorkerClient({ apiUrl, tokenUrl, clientId, clientSecret, redisUrl });
 * const res = await client.fetch('/weatherforecast');
 */
export function createWorkerClient(options: WorkerClientOptions): SteadfastClient {
  const store = options.redisUrl
    ? redisTokenStore({
        url: options.redisUrl,
        ...(options.redisKeyPrefix ? { keyPrefix: options.redisKeyPrefix } : {}),
      })
    : memoryTokenStore();
  const auth = clientCredentials({
    tokenUrl: options.tokenUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    ...(options.scope ? { scope: options.scope } : {}),
    store,
    ...(options.logError ? { logError: options.logError } : {}),
  });
  return createClient({
    name: options.name ?? 'weather',
    baseUrl: options.apiUrl,
    auth,
    ...(options.preset === 'demo' ? DEMO_PIPELINE : {}),
  });
}

// Its own package (`@steadfast/redis`): only apps that share tokens load ioredis.
import type { KeyObject } from 'node:crypto';
import { redisTokenStore } from '@steadfast/redis';
import type {
  Authorization,
  ClientAuthMethod,
  ClientCertificate,
  ClientOptions,
  TokenStore,
} from 'steadfast';
import { clientCredentials, createClient, memoryTokenStore, type SteadfastClient } from 'steadfast';

/**
 * `standard`: the SDK's defaults. `demo`: short timeouts, a quick breaker, a fleet quota,
 * server-driven pauses, hedging, serve stale and an adaptive limit, so a demo of a minute
 * shows every behaviour. `demo+throttle`: the demo's, with client-side adaptive throttling in
 * place of the circuit breaker.
 */
export type PipelinePreset = 'standard' | 'demo' | 'demo+throttle';

/** Options of {@link createWorkerClient}. */
export interface WorkerClientOptions {
  /** `client` label of the metrics. Default: `weather`. */
  readonly name?: string;
  /** Base URL of the API, e.g. `http://127.0.0.1:8080`. */
  readonly apiUrl: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  /** Required with the `client_secret_*` methods; not used with the others. */
  readonly clientSecret?: string;
  /** How the client authenticates at the token endpoint. Default: `client_secret_basic`. */
  readonly clientAuthMethod?: ClientAuthMethod;
  /** The private key of `private_key_jwt`: PEM, or a KeyObject (an encrypted PEM, decrypted). */
  readonly privateKey?: string | KeyObject;
  /** The `kid` header of the client assertion (`private_key_jwt`). */
  readonly keyId?: string;
  /**
   * A TLS client certificate: the client authentication of the mTLS methods, or the
   * certificate tokens are bound to with any method (RFC 8705).
   */
  readonly clientCertificate?: ClientCertificate;
  /** DPoP-bound tokens (RFC 9449), with a key made at start. Default: false. */
  readonly dpop?: boolean;
  /** Space-separated scopes. Default: none. */
  readonly scope?: string;
  /** Share the token through this Redis; without it the token stays in this process. */
  readonly redisUrl?: string;
  /** Key prefix in Redis. Default: the SDK's (`steadfast:`). */
  readonly redisKeyPrefix?: string;
  /**
   * `redisTokenStore`'s `encryptionKey`: token records in Redis encrypted (AES-256-GCM); with
   * `dpop`, the DPoP key then travels with the token, so the fleet shares one token.
   */
  readonly redisEncryptionKey?: string;
  /** Default: `standard`. */
  readonly preset?: PipelinePreset;
  /** Where the SDK's auth circuit writes its one error line. Default: the SDK's (`console.error`). */
  readonly logError?: (line: string) => void;
}

/** The demo preset: every behaviour shows within a minute at ~10–50 calls/s. */
const DEMO_PIPELINE: Pick<
  ClientOptions,
  | 'totalTimeoutMs'
  | 'attemptTimeoutMs'
  | 'retry'
  | 'circuitBreaker'
  | 'quota'
  | 'cooldown'
  | 'hedging'
  | 'fallback'
  | 'concurrency'
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
  // Hedging, serve stale and an adaptive limit, so the "Hedging, fallback & adaptive
  // concurrency" row has data: a slow answer (the API's latency tail) or a failed one sends a
  // hedge, within the default budget (10 % of calls + 1/s); a 5xx after the retries, a
  // timeout or a network failure is answered with the last good response if it is at most a
  // minute old (calls the breaker or the limit refuse still fail fast, and show as not
  // permitted); each origin gets an adaptive limit (gradient, from 20, never under 5).
  // No adaptive throttle: above the breaker, it would refuse most attempts of an outage
  // before the breaker saw enough of them to open, and then hold back the probes that close
  // it (DEMO_THROTTLE_PIPELINE has one instead of the breaker).
  hedging: {},
  fallback: { on: ['server_error', 'timeout', 'network'], serveStale: { maxAgeMs: 60_000 } },
  concurrency: { adaptive: { minLimit: 5 } },
};

/**
 * The demo preset with the SRE book's client-side adaptive throttling in place of the
 * breaker (the two answer the same overload; together, the throttle would starve the
 * breaker, see above): while the API refuses (429, 503, 504, timeouts) more than half of
 * what it gets over 10 s, attempts are refused locally with the throttle's probability.
 */
const DEMO_THROTTLE_PIPELINE: Pick<ClientOptions, keyof typeof DEMO_PIPELINE | 'adaptiveThrottle'> =
  {
    ...DEMO_PIPELINE,
    circuitBreaker: false,
    adaptiveThrottle: { windowMs: 10_000 },
  };

const PRESETS: Record<PipelinePreset, Partial<ClientOptions>> = {
  standard: {},
  demo: DEMO_PIPELINE,
  'demo+throttle': DEMO_THROTTLE_PIPELINE,
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
  const store: TokenStore = options.redisUrl
    ? redisTokenStore({
        url: options.redisUrl,
        ...(options.redisKeyPrefix ? { keyPrefix: options.redisKeyPrefix } : {}),
        ...(options.redisEncryptionKey ? { encryptionKey: options.redisEncryptionKey } : {}),
      })
    : memoryTokenStore();
  let auth: Authorization | undefined;
  try {
    auth = clientCredentials({
      tokenUrl: options.tokenUrl,
      clientId: options.clientId,
      ...(options.clientSecret !== undefined ? { clientSecret: options.clientSecret } : {}),
      ...(options.clientAuthMethod ? { clientAuthMethod: options.clientAuthMethod } : {}),
      ...(options.privateKey !== undefined ? { privateKey: options.privateKey } : {}),
      ...(options.keyId !== undefined ? { keyId: options.keyId } : {}),
      ...(options.clientCertificate ? { clientCertificate: options.clientCertificate } : {}),
      ...(options.dpop ? { dpop: true } : {}),
      ...(options.scope ? { scope: options.scope } : {}),
      store,
      ...(options.logError ? { logError: options.logError } : {}),
    });
    return createClient({
      name: options.name ?? 'weather',
      baseUrl: options.apiUrl,
      auth,
      ...PRESETS[options.preset ?? 'standard'],
    });
  } catch (error) {
    // A configuration the SDK refused: close what was opened (the Redis connection, the
    // certificate's Agent), so the process can exit.
    void (auth ? auth.close() : store.detach()).catch(() => {});
    throw error;
  }
}

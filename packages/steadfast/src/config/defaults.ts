/**
 * Every default of the standard pipeline, in one place, units in the names.
 * They follow the standard resilience pipeline of Microsoft.Extensions.Http.Resilience.
 */
export const DEFAULTS = {
  concurrency: {
    limit: 1000,
    queue: 0, // reject at once when full: rejections are never retried
  },
  totalTimeoutMs: 30 * 1000, // 30 s for the whole call, backoff included
  attemptTimeoutMs: 10 * 1000, // 10 s per wire attempt
  maxResponseBytes: 32 * 1024 * 1024, // 32 MiB read whole by text()/json()/...; streams are unlimited
  bodyTimeoutMs: 30 * 1000, // 30 s without a body chunk while a reader waits
  retry: {
    maxRetries: 3,
    backoff: 'exponential',
    jitter: true, // decorrelated jitter
    baseDelayMs: 2 * 1000, // 2 s
    maxDelayMs: 30 * 1000, // 30 s
    maxRetryAfterMs: 60 * 1000, // never wait longer than 60 s for a Retry-After
    retryUnsafeMethods: false,
    budget: {
      ratio: 0.2, // retries may add at most 20 % to the traffic of the window...
      minRetriesPerSecond: 10, // ...plus this floor, so low traffic can still retry
      windowMs: 10 * 1000, // 10 s sliding window
    },
  },
  circuitBreaker: {
    failureRatio: 0.1,
    minimumThroughput: 100,
    samplingDurationMs: 30 * 1000, // 30 s
    breakDurationMs: 5 * 1000, // 5 s
    maxOrigins: 1000, // breakers kept at once; idle closed ones are dropped anyway
  },
  transport: {
    connectionsPerOrigin: 128,
    keepAliveTimeoutMs: 4 * 1000, // 4 s, below common server keep-alive timeouts (5 s)
    connectTimeoutMs: 10 * 1000, // 10 s
  },
} as const;

import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../packages/steadfast/src/config/validate.js';
import {
  createClient,
  DEFAULTS,
  InvalidConfigurationError,
  isInvalidConfigurationError,
} from '../../../packages/steadfast/src/index.js';
import { NO_TELEMETRY } from '../support.js';

type Options = Parameters<typeof createClient>[0];

/** The InvalidConfigurationError that creating a client with `options` throws. */
function configErrorOf(options: Record<string, unknown>): InvalidConfigurationError {
  let client: ReturnType<typeof createClient> | undefined;
  try {
    client = createClient({
      name: 'config-test',
      baseUrl: 'http://127.0.0.1:1',
      telemetry: NO_TELEMETRY,
      ...options,
    } as Options);
  } catch (error) {
    expect(isInvalidConfigurationError(error)).toBe(true);
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).code).toBe('ERR_STEADFAST_INVALID_CONFIGURATION');
    return error as InvalidConfigurationError;
  }
  void client.close();
  throw new Error(`createClient accepted ${JSON.stringify(options)}`);
}

describe('options are validated at construction', () => {
  it('resolves a client given only a name to DEFAULTS', () => {
    const options = resolveOptions({ name: 'defaults' });
    expect(options).toMatchObject(DEFAULTS);
    expect((options.retry as { random: unknown }).random).toBe(Math.random);
    expect(options.chaos).toBe(false);
  });

  it.each([
    ['totalTimeoutMs', 2 ** 31 - 1, 2 ** 31],
    ['maxResponseBytes', 0, -1],
    ['retry.maxRetries', 100, 101],
    ['circuitBreaker.breakDurationMs', 1, 0],
  ] as const)(
    'accepts %s at the edge of its range and refuses one step past it',
    (path, edge, past) => {
      const at = (value: number) =>
        path
          .split('.')
          .reverse()
          .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
      expect(() => resolveOptions({ name: 'edges', ...at(edge) } as Options)).not.toThrow();
      expect(configErrorOf(at(past)).field).toBe(path);
    },
  );

  it('accepts the full documented shape, and keeps what it was given', () => {
    const shouldRetry = (_o: unknown, _c: unknown, byDefault: boolean) => byDefault;
    const given = {
      name: 'weather',
      baseUrl: 'http://127.0.0.1:1',
      totalTimeoutMs: 31_000,
      attemptTimeoutMs: 9_000,
      concurrency: { limit: 999, queue: 3 },
      retry: {
        maxRetries: 4,
        backoff: 'linear',
        jitter: false,
        baseDelayMs: 1500,
        maxDelayMs: 20_000,
        maxRetryAfterMs: 50_000,
        retryUnsafeMethods: true,
        shouldRetry,
        budget: { ratio: 0.3, minRetriesPerSecond: 5, windowMs: 8_000 },
        random: Math.random,
      },
      circuitBreaker: {
        failureRatio: 0.2,
        minimumThroughput: 50,
        samplingDurationMs: 20_000,
        breakDurationMs: 4_000,
      },
      telemetry: NO_TELEMETRY,
    } as const;
    const resolved = resolveOptions(given as unknown as Options);
    expect(resolved).toMatchObject({
      name: given.name,
      totalTimeoutMs: given.totalTimeoutMs,
      attemptTimeoutMs: given.attemptTimeoutMs,
      concurrency: given.concurrency,
      retry: { ...given.retry, shouldRetry },
      circuitBreaker: given.circuitBreaker,
    });
    expect(resolved.baseUrl?.href).toBe('http://127.0.0.1:1/');
  });

  it('rejects an attempt timeout longer than the total timeout', () => {
    const error = configErrorOf({ attemptTimeoutMs: 5_000, totalTimeoutMs: 1_000 });
    expect(error.field).toMatch(/^(attemptTimeoutMs|totalTimeoutMs)$/);
    expect(error.message).toContain('attemptTimeoutMs');
    expect(error.message).toContain('totalTimeoutMs');
  });

  it('gives attempts the whole call when only a total shorter than the default attempt is set', () => {
    // The default attempt timeout (10 s) would outlast a 5 s call: not an error about an
    // option the user never set, but attempts as long as the call.
    expect(resolveOptions({ name: 'short', totalTimeoutMs: 5_000 })).toMatchObject({
      totalTimeoutMs: 5_000,
      attemptTimeoutMs: 5_000,
    });
    expect(resolveOptions({ name: 'long', totalTimeoutMs: 60_000 }).attemptTimeoutMs).toBe(
      DEFAULTS.attemptTimeoutMs,
    );
    // Given explicitly, it is checked as given.
    expect(configErrorOf({ totalTimeoutMs: 5_000, attemptTimeoutMs: 6_000 }).field).toBe(
      'attemptTimeoutMs',
    );
  });

  it('rejects a breaker sampling window shorter than twice the attempt timeout', () => {
    const error = configErrorOf({
      attemptTimeoutMs: 10_000,
      circuitBreaker: { samplingDurationMs: 15_000 },
    });
    expect(error.field).toBe('circuitBreaker.samplingDurationMs');
    expect(error.message).toContain('attemptTimeoutMs');
  });

  it('rejects a default sampling window that a long attempt timeout makes too short', () => {
    // Default sampling window 30 s < 2 × 20 s.
    const error = configErrorOf({ attemptTimeoutMs: 20_000, totalTimeoutMs: 60_000 });
    expect(error.field).toMatch(/samplingDurationMs|attemptTimeoutMs/);
  });

  it('accepts a long attempt timeout when the breaker, whose window it would outgrow, is off', () => {
    const resolved = resolveOptions({
      name: 'x',
      baseUrl: 'http://127.0.0.1:1',
      attemptTimeoutMs: 20_000,
      totalTimeoutMs: 60_000,
      circuitBreaker: false,
      telemetry: NO_TELEMETRY,
    });
    expect(resolved.circuitBreaker).toBe(false);
    expect(resolved.attemptTimeoutMs).toBe(20_000);
  });

  it.each([
    ['negative retries', { retry: { maxRetries: -1 } }, 'retry.maxRetries'],
    ['fractional retries', { retry: { maxRetries: 1.5 } }, 'retry.maxRetries'],
    ['a negative base delay', { retry: { baseDelayMs: -5 } }, 'retry.baseDelayMs'],
    ['an unknown backoff', { retry: { backoff: 'fibonacci' } }, 'retry.backoff'],
    ['a negative budget ratio', { retry: { budget: { ratio: -0.1 } } }, 'retry.budget.ratio'],
    ['a zero total timeout', { totalTimeoutMs: 0 }, 'totalTimeoutMs'],
    ['a NaN attempt timeout', { attemptTimeoutMs: Number.NaN }, 'attemptTimeoutMs'],
    ['a zero concurrency limit', { concurrency: { limit: 0 } }, 'concurrency.limit'],
    ['a negative queue', { concurrency: { queue: -1 } }, 'concurrency.queue'],
    [
      'a failure ratio above 1',
      { circuitBreaker: { failureRatio: 2 } },
      'circuitBreaker.failureRatio',
    ],
    [
      'a negative break duration',
      { circuitBreaker: { breakDurationMs: -1 } },
      'circuitBreaker.breakDurationMs',
    ],
  ])('rejects %s, naming the field', (_what, options, field) => {
    const error = configErrorOf(options);
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
  });

  it.each([
    ['a string timeout', { totalTimeoutMs: '30s' }, 'totalTimeoutMs'],
    ['a string retry count', { retry: { maxRetries: '3' } }, 'retry.maxRetries'],
    ['a numeric jitter', { retry: { jitter: 1 } }, 'retry.jitter'],
    ['a number for the concurrency block', { concurrency: 10 }, 'concurrency'],
    ['a non-function predicate', { retry: { shouldRetry: true } }, 'retry.shouldRetry'],
    ['a non-string name', { name: 42 }, 'name'],
  ])('rejects %s (wrong type), naming the field', (_what, options, field) => {
    const error = configErrorOf(options);
    expect(error.field).toBe(field);
  });

  it.each([
    ['a misspelt top-level option', { retires: 3 }, 'retires'],
    ['a misspelt retry option', { retry: { maxRetry: 3 } }, 'retry.maxRetry'],
    [
      'a misspelt breaker option',
      { circuitBreaker: { breakDuration: 5 } },
      'circuitBreaker.breakDuration',
    ],
    ['a misspelt budget option', { retry: { budget: { percent: 20 } } }, 'retry.budget.percent'],
  ])('rejects %s (unknown key), naming it', (_what, options, field) => {
    const error = configErrorOf(options);
    expect(error.field).toBe(field);
    expect(error.message).toContain(field.split('.').pop()!);
  });

  it('rejects a baseUrl that is not an absolute http(s) URL', () => {
    expect(configErrorOf({ baseUrl: 'not a url' }).field).toBe('baseUrl');
    expect(configErrorOf({ baseUrl: 'ftp://example.com' }).field).toBe('baseUrl');
  });

  it('requires a name', () => {
    expect(configErrorOf({ name: '' }).field).toBe('name');
  });
});

import { constants } from 'node:buffer';
import type { Dispatcher } from 'undici';
import { InvalidConfigurationError } from '../errors.js';
import { seededRandom } from '../pipeline/seeded-random.js';
import { DEFAULTS } from './defaults.js';
import type { ClientOptions, ResolvedOptions } from './options.js';
import {
  type Bag,
  booleanAt,
  describe,
  functionAt,
  MAX_TIMEOUT_MS,
  numberAt,
  objectAt,
  objectWithMethodsAt,
  onlyKeys,
  originOf,
} from './rules.js';

/**
 * Validate `createClient` options once and fill in defaults. Every failure names the
 * field and the rule. Nothing is normalised per call after this.
 */
export function resolveOptions(input: ClientOptions): ResolvedOptions {
  const bag = objectAt(input, 'options');
  onlyKeys(
    bag,
    [
      'name',
      'baseUrl',
      'auth',
      'concurrency',
      'totalTimeoutMs',
      'attemptTimeoutMs',
      'maxResponseBytes',
      'bodyTimeoutMs',
      'authOrigins',
      'retry',
      'circuitBreaker',
      'transport',
      'telemetry',
      'origins',
      'chaos',
    ],
    '',
  );

  const name = bag.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw new InvalidConfigurationError(
      'name',
      'must be 1–64 characters of letters, digits, "_", "." or "-" (it is a metric label)',
    );
  }

  let baseUrl: URL | undefined;
  if (bag.baseUrl !== undefined) {
    if (typeof bag.baseUrl !== 'string') {
      throw new InvalidConfigurationError(
        'baseUrl',
        `must be a string, got ${describe(bag.baseUrl)}`,
      );
    }
    originOf(bag.baseUrl, 'baseUrl');
    baseUrl = new URL(bag.baseUrl);
    if (baseUrl.username || baseUrl.password) {
      throw new InvalidConfigurationError('baseUrl', 'must not contain credentials; use `auth`');
    }
  }

  const auth = bag.auth;
  if (
    auth !== undefined &&
    (typeof auth !== 'object' ||
      auth === null ||
      typeof (auth as Bag).createStrategy !== 'function')
  ) {
    throw new InvalidConfigurationError(
      'auth',
      'must be an authorization such as clientCredentials(...)',
    );
  }

  const concurrencyBag =
    bag.concurrency === undefined ? {} : objectAt(bag.concurrency, 'concurrency');
  onlyKeys(concurrencyBag, ['limit', 'queue'], 'concurrency');
  const concurrency = {
    limit: numberAt(concurrencyBag, 'limit', 'concurrency.limit', DEFAULTS.concurrency.limit, {
      min: 1,
      integer: true,
    }),
    queue: numberAt(concurrencyBag, 'queue', 'concurrency.queue', DEFAULTS.concurrency.queue, {
      min: 0,
      integer: true,
    }),
  };

  const totalTimeoutMs = numberAt(
    bag,
    'totalTimeoutMs',
    'totalTimeoutMs',
    DEFAULTS.totalTimeoutMs,
    {
      above: 0,
      max: MAX_TIMEOUT_MS,
    },
  );
  const attemptTimeoutMs = numberAt(
    bag,
    'attemptTimeoutMs',
    'attemptTimeoutMs',
    DEFAULTS.attemptTimeoutMs,
    {
      above: 0,
      max: MAX_TIMEOUT_MS,
    },
  );
  if (attemptTimeoutMs > totalTimeoutMs) {
    throw new InvalidConfigurationError(
      'attemptTimeoutMs',
      `must be ≤ totalTimeoutMs (${totalTimeoutMs}), got ${attemptTimeoutMs}`,
    );
  }

  const maxResponseBytes = numberAt(
    bag,
    'maxResponseBytes',
    'maxResponseBytes',
    DEFAULTS.maxResponseBytes,
    MAX_RESPONSE_BYTES_RULE,
  );
  const bodyTimeoutMs = numberAt(bag, 'bodyTimeoutMs', 'bodyTimeoutMs', DEFAULTS.bodyTimeoutMs, {
    above: 0,
    max: MAX_TIMEOUT_MS,
  });
  const authOrigins = resolveAuthOrigins(bag.authOrigins, auth !== undefined, baseUrl);

  const retry = resolveRetry(bag.retry);
  const circuitBreaker = resolveBreaker(bag.circuitBreaker, attemptTimeoutMs);

  const transportBag = bag.transport === undefined ? {} : objectAt(bag.transport, 'transport');
  onlyKeys(
    transportBag,
    ['connectionsPerOrigin', 'keepAliveTimeoutMs', 'connectTimeoutMs', 'dispatcher'],
    'transport',
  );
  // `dispatch()` is what the transport calls; `destroy()` is how close() ends its sockets.
  const dispatcher = objectWithMethodsAt<Dispatcher>(
    transportBag,
    'dispatcher',
    'transport.dispatcher',
    ['dispatch', 'destroy'],
    'an undici Dispatcher',
  );
  const transport = {
    connectionsPerOrigin: numberAt(
      transportBag,
      'connectionsPerOrigin',
      'transport.connectionsPerOrigin',
      DEFAULTS.transport.connectionsPerOrigin,
      { min: 1, integer: true },
    ),
    keepAliveTimeoutMs: numberAt(
      transportBag,
      'keepAliveTimeoutMs',
      'transport.keepAliveTimeoutMs',
      DEFAULTS.transport.keepAliveTimeoutMs,
      { above: 0, max: MAX_TIMEOUT_MS },
    ),
    connectTimeoutMs: numberAt(
      transportBag,
      'connectTimeoutMs',
      'transport.connectTimeoutMs',
      DEFAULTS.transport.connectTimeoutMs,
      { above: 0, max: MAX_TIMEOUT_MS },
    ),
    dispatcher,
  };

  const telemetry = bag.telemetry === undefined ? undefined : objectAt(bag.telemetry, 'telemetry');

  const originsInput = bag.origins === undefined ? [] : bag.origins;
  if (!Array.isArray(originsInput)) {
    throw new InvalidConfigurationError(
      'origins',
      `must be an array of URLs, got ${describe(originsInput)}`,
    );
  }
  const origins = originsInput.map((o, i) => {
    if (typeof o !== 'string')
      throw new InvalidConfigurationError(`origins[${i}]`, 'must be a string');
    return originOf(o, `origins[${i}]`);
  });
  if (baseUrl) origins.unshift(baseUrl.origin);

  return {
    name,
    baseUrl,
    auth: auth as ResolvedOptions['auth'],
    concurrency,
    totalTimeoutMs,
    attemptTimeoutMs,
    maxResponseBytes,
    bodyTimeoutMs,
    authOrigins,
    retry,
    circuitBreaker,
    transport,
    telemetry: telemetry as ResolvedOptions['telemetry'],
    origins: [...new Set(origins)],
    chaos: resolveChaos(bag.chaos),
  };
}

/**
 * `maxResponseBytes`, here and per call: a whole number of bytes, at most what one string
 * can hold (a body read by `text()` must fit in one).
 */
export const MAX_RESPONSE_BYTES_RULE = { min: 0, max: constants.MAX_STRING_LENGTH, integer: true };

/** The origins the token of `auth` may go to: `baseUrl`'s plus `authOrigins`. */
function resolveAuthOrigins(
  value: unknown,
  hasAuth: boolean,
  baseUrl: URL | undefined,
): ReadonlySet<string> {
  const list = value === undefined ? [] : value;
  if (!Array.isArray(list)) {
    throw new InvalidConfigurationError(
      'authOrigins',
      `must be an array of URLs, got ${describe(list)}`,
    );
  }
  const origins = new Set<string>(baseUrl ? [baseUrl.origin] : []);
  list.forEach((o: unknown, i) => {
    if (typeof o !== 'string')
      throw new InvalidConfigurationError(`authOrigins[${i}]`, 'must be a string');
    origins.add(originOf(o, `authOrigins[${i}]`));
  });
  if (hasAuth && origins.size === 0) {
    throw new InvalidConfigurationError(
      'authOrigins',
      'the access token of `auth` is sent only to the origin of `baseUrl` and to `authOrigins`: set one of them',
    );
  }
  return origins;
}

const CHAOS_RATES = [
  'serviceUnavailableRate',
  'rateLimitRate',
  'unauthorizedRate',
  'resetRate',
] as const;

function resolveChaos(value: unknown): ResolvedOptions['chaos'] {
  if (value === undefined || value === false) return false;
  const bag = objectAt(value, 'chaos');
  onlyKeys(
    bag,
    [...CHAOS_RATES, 'retryAfterSeconds', 'latencyRate', 'latencyMs', 'header', 'seed', 'random'],
    'chaos',
  );
  const rate = (key: string) => numberAt(bag, key, `chaos.${key}`, 0, { min: 0, max: 1 });
  const [serviceUnavailableRate, rateLimitRate, unauthorizedRate, resetRate] =
    CHAOS_RATES.map(rate);
  const sum = serviceUnavailableRate! + rateLimitRate! + unauthorizedRate! + resetRate!;
  if (sum > 1 + 1e-9) {
    throw new InvalidConfigurationError(
      'chaos',
      `serviceUnavailableRate + rateLimitRate + unauthorizedRate + resetRate must be ≤ 1 (one draw picks at most one fault), got ${sum}`,
    );
  }
  const header = bag.header ?? 'x-steadfast-chaos';
  if (
    header !== false &&
    (typeof header !== 'string' || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/.test(header))
  ) {
    throw new InvalidConfigurationError('chaos.header', 'must be an HTTP header name or false');
  }
  const seed = numberAt(bag, 'seed', 'chaos.seed', Math.floor(Math.random() * 2 ** 32), {
    min: 0,
    max: 2 ** 32 - 1,
    integer: true,
  });
  return {
    serviceUnavailableRate: serviceUnavailableRate!,
    rateLimitRate: rateLimitRate!,
    unauthorizedRate: unauthorizedRate!,
    resetRate: resetRate!,
    retryAfterSeconds: numberAt(bag, 'retryAfterSeconds', 'chaos.retryAfterSeconds', 1, {
      min: 0,
      max: 3600,
      integer: true,
    }),
    latencyRate: rate('latencyRate'),
    latencyMs: numberAt(bag, 'latencyMs', 'chaos.latencyMs', 1000, { min: 0, max: MAX_TIMEOUT_MS }),
    header: header === false ? false : (header as string).toLowerCase(),
    random: functionAt<() => number>(bag, 'random', 'chaos.random') ?? seededRandom(seed),
  };
}

function resolveRetry(value: unknown): ResolvedOptions['retry'] {
  if (value === false) return false;
  const bag = value === undefined ? {} : objectAt(value, 'retry');
  onlyKeys(
    bag,
    [
      'maxRetries',
      'backoff',
      'jitter',
      'baseDelayMs',
      'maxDelayMs',
      'maxRetryAfterMs',
      'retryUnsafeMethods',
      'shouldRetry',
      'budget',
      'random',
    ],
    'retry',
  );
  const d = DEFAULTS.retry;
  const backoff = bag.backoff ?? d.backoff;
  if (backoff !== 'constant' && backoff !== 'linear' && backoff !== 'exponential') {
    throw new InvalidConfigurationError(
      'retry.backoff',
      `must be "constant", "linear" or "exponential", got ${JSON.stringify(backoff)}`,
    );
  }
  const baseDelayMs = numberAt(bag, 'baseDelayMs', 'retry.baseDelayMs', d.baseDelayMs, {
    min: 0,
    max: MAX_TIMEOUT_MS,
  });
  const maxDelayMs = numberAt(bag, 'maxDelayMs', 'retry.maxDelayMs', d.maxDelayMs, {
    min: 0,
    max: MAX_TIMEOUT_MS,
  });
  if (maxDelayMs < baseDelayMs) {
    throw new InvalidConfigurationError(
      'retry.maxDelayMs',
      `must be ≥ retry.baseDelayMs (${baseDelayMs}), got ${maxDelayMs}`,
    );
  }
  let budget: Exclude<ResolvedOptions['retry'], false>['budget'] = false;
  if (bag.budget !== false) {
    const b = bag.budget === undefined ? {} : objectAt(bag.budget, 'retry.budget');
    onlyKeys(b, ['ratio', 'minRetriesPerSecond', 'windowMs'], 'retry.budget');
    budget = {
      ratio: numberAt(b, 'ratio', 'retry.budget.ratio', d.budget.ratio, { min: 0, max: 1 }),
      minRetriesPerSecond: numberAt(
        b,
        'minRetriesPerSecond',
        'retry.budget.minRetriesPerSecond',
        d.budget.minRetriesPerSecond,
        { min: 0 },
      ),
      windowMs: numberAt(b, 'windowMs', 'retry.budget.windowMs', d.budget.windowMs, {
        min: 1000,
        max: 10 * 60 * 1000,
      }),
    };
  }
  return {
    maxRetries: numberAt(bag, 'maxRetries', 'retry.maxRetries', d.maxRetries, {
      min: 0,
      max: 100,
      integer: true,
    }),
    backoff,
    jitter: booleanAt(bag, 'jitter', 'retry.jitter', d.jitter),
    baseDelayMs,
    maxDelayMs,
    maxRetryAfterMs: numberAt(bag, 'maxRetryAfterMs', 'retry.maxRetryAfterMs', d.maxRetryAfterMs, {
      min: 0,
      max: MAX_TIMEOUT_MS,
    }),
    retryUnsafeMethods: booleanAt(
      bag,
      'retryUnsafeMethods',
      'retry.retryUnsafeMethods',
      d.retryUnsafeMethods,
    ),
    shouldRetry: functionAt(bag, 'shouldRetry', 'retry.shouldRetry'),
    budget,
    random: functionAt<() => number>(bag, 'random', 'retry.random') ?? Math.random,
  };
}

function resolveBreaker(
  value: unknown,
  attemptTimeoutMs: number,
): ResolvedOptions['circuitBreaker'] {
  if (value === false) return false;
  const bag = value === undefined ? {} : objectAt(value, 'circuitBreaker');
  onlyKeys(
    bag,
    ['failureRatio', 'minimumThroughput', 'samplingDurationMs', 'breakDurationMs', 'maxOrigins'],
    'circuitBreaker',
  );
  const d = DEFAULTS.circuitBreaker;
  const samplingDurationMs = numberAt(
    bag,
    'samplingDurationMs',
    'circuitBreaker.samplingDurationMs',
    d.samplingDurationMs,
    {
      min: 100,
      max: MAX_TIMEOUT_MS,
    },
  );
  if (samplingDurationMs < 2 * attemptTimeoutMs) {
    throw new InvalidConfigurationError(
      'circuitBreaker.samplingDurationMs',
      `must be ≥ 2 × attemptTimeoutMs (${2 * attemptTimeoutMs}), got ${samplingDurationMs}`,
    );
  }
  return {
    failureRatio: numberAt(bag, 'failureRatio', 'circuitBreaker.failureRatio', d.failureRatio, {
      above: 0,
      max: 1,
    }),
    minimumThroughput: numberAt(
      bag,
      'minimumThroughput',
      'circuitBreaker.minimumThroughput',
      d.minimumThroughput,
      {
        min: 1,
        integer: true,
      },
    ),
    samplingDurationMs,
    maxOrigins: numberAt(bag, 'maxOrigins', 'circuitBreaker.maxOrigins', d.maxOrigins, {
      min: 1,
      max: 1_000_000,
      integer: true,
    }),
    breakDurationMs: numberAt(
      bag,
      'breakDurationMs',
      'circuitBreaker.breakDurationMs',
      d.breakDurationMs,
      {
        min: 1,
        max: MAX_TIMEOUT_MS,
      },
    ),
  };
}

import { describe, expect, it } from 'vitest';
import { buildCallPipeline } from '../../../packages/steadfast/src/call-pipeline.js';
import { resolveOptions } from '../../../packages/steadfast/src/config/validate.js';
import { InvalidConfigurationError } from '../../../packages/steadfast/src/index.js';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import { type ClientOptions, NO_TELEMETRY, useHarness } from '../support.js';

const h = useHarness();

const base = { name: 'adaptive', baseUrl: 'http://127.0.0.1:1', telemetry: NO_TELEMETRY };

/** The layers of a client built with `options`, outermost first. */
const layers = (options: Partial<ClientOptions>) =>
  buildCallPipeline(
    resolveOptions({ ...base, ...options } as ClientOptions),
    new ClientEvents(),
  ).strategies.map((s) => s.name);

function configurationError(options: Partial<ClientOptions>): InvalidConfigurationError {
  try {
    h.client('http://127.0.0.1:1', options as never);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    return error as InvalidConfigurationError;
  }
  throw new Error('expected the options to be refused');
}

describe('adaptive concurrency and adaptive throttling: options and place in the pipeline', () => {
  it('cost nothing unless configured: the fixed limiter, and no throttle layer', () => {
    for (const options of [{}, { concurrency: { adaptive: false }, adaptiveThrottle: false }]) {
      const names = layers(options as Partial<ClientOptions>);
      expect(names).toContain('concurrency_limiter');
      expect(names).not.toContain('adaptive_concurrency');
      expect(names).not.toContain('adaptive_throttle');
    }
    expect(h.client('http://127.0.0.1:1').concurrencyLimits.size).toBe(0);
  });

  it('put the adaptive limit where the fixed one was, and the throttle first among the admission layers', () => {
    const names = layers({
      concurrency: { adaptive: { algorithm: 'aimd' } },
      adaptiveThrottle: { k: 1.5 },
      rateLimit: { limit: 10 },
      cooldown: true,
    });
    expect(names).not.toContain('concurrency_limiter');
    expect(
      names.slice(names.indexOf('adaptive_concurrency'), names.indexOf('circuit_breaker') + 1),
    ).toEqual([
      'adaptive_concurrency',
      'deadline',
      'retry',
      'adaptive_throttle',
      'cooldown',
      'rate_limiter',
      'circuit_breaker',
    ]);
  });

  it('fill in the documented defaults', () => {
    const resolved = resolveOptions({
      ...base,
      concurrency: { adaptive: {} },
      adaptiveThrottle: {},
    } as ClientOptions);
    expect(resolved.concurrency.adaptive).toEqual({
      algorithm: 'gradient',
      initialLimit: 20,
      minLimit: 1,
      maxLimit: 1000,
      maxOrigins: 1000,
      windowMs: 100,
      minWindowSamples: 10,
      tolerance: 1.5,
      smoothing: 0.2,
      baselineIntervalMs: 30_000,
      backoffRatio: 0.9,
      latencyThresholdMs: 5000,
    });
    expect(resolved.adaptiveThrottle).toEqual({
      k: 2,
      windowMs: 120_000,
      buckets: 12,
      maxOrigins: 1000,
    });
  });

  it.each([
    [{ concurrency: { adaptive: true } }, 'concurrency.adaptive', 'must be an object or false'],
    [
      { concurrency: { adaptive: { algorithm: 'vegas' } } },
      'concurrency.adaptive.algorithm',
      '"gradient" or "aimd"',
    ],
    [
      { concurrency: { adaptive: { initialLimit: 0 } } },
      'concurrency.adaptive.initialLimit',
      '≥ 1',
    ],
    [
      { concurrency: { adaptive: { initialLimit: 2.5 } } },
      'concurrency.adaptive.initialLimit',
      'whole number',
    ],
    [
      { concurrency: { adaptive: { minLimit: 50, maxLimit: 10, initialLimit: 10 } } },
      'concurrency.adaptive.minLimit',
      'must be ≤ maxLimit (10)',
    ],
    [
      { concurrency: { adaptive: { initialLimit: 5, minLimit: 8 } } },
      'concurrency.adaptive.initialLimit',
      '[8, 1000]',
    ],
    [{ concurrency: { adaptive: { tolerance: 0.9 } } }, 'concurrency.adaptive.tolerance', '≥ 1'],
    [
      { concurrency: { adaptive: { smoothing: 0 } } },
      'concurrency.adaptive.smoothing',
      'greater than 0',
    ],
    [
      { concurrency: { adaptive: { backoffRatio: 1 } } },
      'concurrency.adaptive.backoffRatio',
      '≤ 0.99',
    ],
    [{ concurrency: { adaptive: { windowMs: 1 } } }, 'concurrency.adaptive.windowMs', '≥ 10'],
    [
      { concurrency: { adaptive: { latencyThresholdMs: 0 } } },
      'concurrency.adaptive.latencyThresholdMs',
      'greater than 0',
    ],
    [{ concurrency: { adaptive: { limit: 5 } } }, 'concurrency.adaptive.limit', 'unknown option'],
    [{ adaptiveThrottle: null }, 'adaptiveThrottle', 'must be an object or false'],
    [{ adaptiveThrottle: { k: 0.5 } }, 'adaptiveThrottle.k', '≥ 1'],
    [{ adaptiveThrottle: { windowMs: 50 } }, 'adaptiveThrottle.windowMs', '≥ 100'],
    [{ adaptiveThrottle: { buckets: 0 } }, 'adaptiveThrottle.buckets', '≥ 1'],
    [{ adaptiveThrottle: { random: 0.5 } }, 'adaptiveThrottle.random', 'must be a function'],
    [{ adaptiveThrottle: { K: 2 } }, 'adaptiveThrottle.K', 'unknown option'],
  ])('refuse %j at construction, naming %s', (options, field, message) => {
    const error = configurationError(options as Partial<ClientOptions>);
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });
});

import { describe, expect, it } from 'vitest';
import {
  chaosSchema,
  circuitBreakerSchema,
  clientSchema,
  retrySchema,
} from '../../../packages/steadfast/src/config/client-schema.js';
import { DEFAULTS } from '../../../packages/steadfast/src/config/defaults.js';
import {
  customOption,
  defaultsOf,
  describeOptions,
  listItem,
  listOption,
  numberOption,
  optInSection,
  optionsObject,
  parseOptions,
  requiredText,
  section,
} from '../../../packages/steadfast/src/config/schema.js';
import { InvalidConfigurationError } from '../../../packages/steadfast/src/errors.js';

/** The InvalidConfigurationError `parse` throws. */
function errorOf(parse: () => unknown): InvalidConfigurationError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    return error as InvalidConfigurationError;
  }
  throw new Error('expected an InvalidConfigurationError');
}

const limits = optionsObject('Limits', 'Test options.', {
  name: requiredText({ doc: 'A name.' }),
  timeoutMs: numberOption({ default: 100, above: 0, max: 1000, doc: 'A timeout.' }),
  count: numberOption({ default: 2, min: 1, max: 5, integer: true, doc: 'A count.' }),
  inner: section(
    optionsObject('Inner', 'Nested.', {
      ratio: numberOption({ default: 0.5, min: 0, max: 1, doc: 'A ratio.' }),
    }),
    true,
  ),
  urls: listOption(
    listItem((s) => (s.startsWith('http') ? undefined : 'must be a URL')),
    {
      type: 'string[]',
      doc: 'URLs.',
    },
  ),
});

describe('an options schema', () => {
  it('fills in every default, nested ones too', () => {
    expect(parseOptions(limits, { name: 'a' })).toEqual({
      name: 'a',
      timeoutMs: 100,
      count: 2,
      inner: { ratio: 0.5 },
    });
  });

  it('keeps what was given and turns a section off with false', () => {
    expect(parseOptions(limits, { name: 'a', count: 5, inner: false })).toMatchObject({
      count: 5,
      inner: false,
    });
  });

  it.each([
    [{ name: 'a', timeoutMs: 0 }, 'timeoutMs', 'must be greater than 0, got 0'],
    [{ name: 'a', timeoutMs: 1000.5 }, 'timeoutMs', 'must be ≤ 1000, got 1000.5'],
    [{ name: 'a', count: 0 }, 'count', 'must be ≥ 1, got 0'],
    [{ name: 'a', count: 1.5 }, 'count', 'must be a whole number, got 1.5'],
    [{ name: 'a', count: Number.NaN }, 'count', 'must be a number, got NaN'],
    [{ name: 'a', count: null }, 'count', 'must be a number, got null'],
    [{ name: 'a', inner: { ratio: 2 } }, 'inner.ratio', 'must be ≤ 1, got 2'],
    [{ name: 'a', inner: { ratoi: 1 } }, 'inner.ratoi', 'unknown option; allowed: ratio'],
    [{ name: 'a', inner: null }, 'inner', 'must be an object or false, got null'],
    [{ name: 'a', inner: true }, 'inner', 'must be an object or false, got boolean'],
    [{ name: 'a', urls: ['http://x', 'ftp'] }, 'urls[1]', 'must be a URL'],
    [{ name: 'a', urls: 'http://x' }, 'urls', 'must be an array, got string'],
    [
      { name: 'a', nmae: 'b' },
      'nmae',
      'unknown option; allowed: name, timeoutMs, count, inner, urls',
    ],
    [{}, 'name', 'is required'],
    [{ name: '' }, 'name', 'must not be empty'],
    [[], 'options', 'must be an object, got an array'],
    [null, 'options', 'must be an object, got null'],
  ])('rejects %o naming %s', (input, field, rule) => {
    const error = errorOf(() => parseOptions(limits, input));
    expect(error.field).toBe(field);
    expect(error.message).toBe(`Invalid option \`${field}\`: ${rule}`);
  });

  it('accepts the boundaries of each range', () => {
    expect(parseOptions(limits, { name: 'a', timeoutMs: 1000, count: 1 })).toMatchObject({
      timeoutMs: 1000,
      count: 1,
    });
    expect(parseOptions(limits, { name: 'a', timeoutMs: Number.MIN_VALUE, count: 5 }).count).toBe(
      5,
    );
  });

  it('names a sub-object validated alone under the root it is given', () => {
    expect(errorOf(() => parseOptions(retrySchema, { maxRetries: -1 }, 'retry')).field).toBe(
      'retry.maxRetries',
    );
    expect(errorOf(() => parseOptions(retrySchema, 'x', 'retry')).field).toBe('retry');
    expect(parseOptions(retrySchema, {}, 'retry').maxRetries).toBe(DEFAULTS.retry.maxRetries);
  });

  it('never quotes a secret a custom rule is given', () => {
    const keyed = optionsObject('Keyed', 'Test.', {
      key: customOption<string>(
        (value) =>
          typeof value === 'string' && value.length === 8 ? undefined : 'must be 8 characters',
        { type: 'string', doc: 'A key.' },
      ),
      pin: numberOption({ secret: true, max: 9999, doc: 'A pin.' }),
    });
    expect(errorOf(() => parseOptions(keyed, { key: 'hunter2-secret' })).message).not.toContain(
      'hunter2',
    );
    expect(errorOf(() => parseOptions(keyed, { pin: 123456 })).message).not.toContain('123456');
  });
});

describe('the createClient schema', () => {
  it.each([
    // [path, the smallest and largest value accepted, a value just outside on each side]
    ['retry.maxRetries', 0, 100, -1, 101],
    ['retry.budget.ratio', 0, 1, -0.01, 1.01],
    ['retry.budget.windowMs', 1000, 600_000, 999, 600_001],
    ['circuitBreaker.failureRatio', Number.MIN_VALUE, 1, 0, 1.01],
    ['circuitBreaker.maxOrigins', 1, 1_000_000, 0, 1_000_001],
    ['concurrency.limit', 1, 2 ** 40, 0, Number.POSITIVE_INFINITY],
    ['transport.connectTimeoutMs', 1, 2 ** 31 - 1, 0, 2 ** 31],
  ] as const)('enforces the range of %s at its boundaries', (path, low, high, below, above) => {
    const build = (value: number) => {
      const keys = path.split('.');
      let options: unknown = value;
      for (const key of keys.reverse()) options = { [key]: options };
      return { name: 'c', ...(options as object) };
    };
    expect(() => parseOptions(clientSchema, build(low))).not.toThrow();
    expect(() => parseOptions(clientSchema, build(high))).not.toThrow();
    expect(errorOf(() => parseOptions(clientSchema, build(below))).field).toBe(path);
    expect(errorOf(() => parseOptions(clientSchema, build(above))).field).toBe(path);
  });

  it('applies the documented defaults to a client given only a name', () => {
    const options = parseOptions(clientSchema, { name: 'c' });
    expect(options).toMatchObject(DEFAULTS);
    expect((options.retry as { budget: unknown }).budget).toEqual(DEFAULTS.retry.budget);
    expect(options.chaos).toBe(false);
  });

  it('reads DEFAULTS off the schema, and leaves out what is off by default', () => {
    expect(defaultsOf(circuitBreakerSchema)).toEqual(DEFAULTS.circuitBreaker);
    expect(DEFAULTS).not.toHaveProperty('chaos');
    expect(DEFAULTS.retry).not.toHaveProperty('random');
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
  });

  it('checks rules between options after each option is valid', () => {
    expect(
      errorOf(() => parseOptions(retrySchema, { baseDelayMs: 10, maxDelayMs: 5 }, 'retry')).field,
    ).toBe('retry.maxDelayMs');
    const chaos = errorOf(() =>
      parseOptions(clientSchema, {
        name: 'c',
        chaos: { serviceUnavailableRate: 0.6, resetRate: 0.6 },
      }),
    );
    expect(chaos.field).toBe('chaos');
    expect(parseOptions(chaosSchema, { seed: 0 }).header).toBe('x-steadfast-chaos');
  });
});

describe('an opt-in section', () => {
  const toggled = optionsObject('Toggled', 'Test options.', {
    extra: optInSection(
      optionsObject('Extra', 'Nested.', {
        ratio: numberOption({ default: 0.5, min: 0, max: 1, doc: 'A ratio.' }),
      }),
    ),
  });

  it('is off when absent or false, and on with its defaults when true or {}', () => {
    expect(parseOptions(toggled, {})).toEqual({ extra: false });
    expect(parseOptions(toggled, { extra: false })).toEqual({ extra: false });
    expect(parseOptions(toggled, { extra: true })).toEqual({ extra: { ratio: 0.5 } });
    expect(parseOptions(toggled, { extra: {} })).toEqual({ extra: { ratio: 0.5 } });
    expect(parseOptions(toggled, { extra: { ratio: 1 } })).toEqual({ extra: { ratio: 1 } });
  });

  it.each([
    [{ extra: null }, 'extra', 'must be an object, true or false, got null'],
    [{ extra: 'on' }, 'extra', 'must be an object, true or false, got a string'],
    [{ extra: [] }, 'extra', 'must be an object, true or false, got an array'],
    [{ extra: { ratio: 2 } }, 'extra.ratio', 'must be ≤ 1, got 2'],
    [{ extra: { raito: 1 } }, 'extra.raito', 'unknown option; allowed: ratio'],
  ])('rejects %o naming %s', (input, field, rule) => {
    const error = errorOf(() => parseOptions(toggled, input));
    expect(error.field).toBe(field);
    expect(error.message).toBe(`Invalid option \`${field}\`: ${rule}`);
  });

  it('is documented as an object or a boolean, off by default, with no defaults of its own', () => {
    const [extra] = describeOptions(toggled).options;
    expect(extra).toMatchObject({ key: 'extra', canBeTrue: true, default: false });
    expect(defaultsOf(toggled)).toEqual({});
  });
});

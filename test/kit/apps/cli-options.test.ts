import { describe, expect, it } from 'vitest';
import { helpText, parseOptions, UsageError } from '../../../src/cli/options.js';

const SPECS = {
  port: {
    kind: 'integer',
    env: 'TEST_PORT',
    default: 8080,
    min: 0,
    max: 65_535,
    description: 'Port',
  },
  rate: { kind: 'number', env: 'TEST_RATE', default: 10, min: 0.1, max: 100, description: 'Rate' },
  url: { kind: 'string', env: 'TEST_URL', required: true, description: 'Where' },
  secret: { kind: 'secret', env: 'TEST_SECRET', default: 'hunter2-default', description: 'Secret' },
  mode: { kind: 'string', default: 'a', choices: ['a', 'b'], description: 'Mode' },
  plain: { kind: 'boolean', env: 'TEST_PLAIN', default: false, description: 'Plain' },
  optional: { kind: 'string', description: 'Optional' },
} as const;

function values(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const parsed = parseOptions(SPECS, argv, env);
  if (parsed.help) throw new Error('unexpected help');
  return parsed.values;
}

describe('parseOptions', () => {
  it('takes a flag over its environment variable over the default', () => {
    expect(values(['--url', 'u'], {}).port).toBe(8080);
    expect(values(['--url', 'u'], { TEST_PORT: '9000' }).port).toBe(9000);
    expect(values(['--url', 'u', '--port', '9100'], { TEST_PORT: '9000' }).port).toBe(9100);
  });

  it('reads a required option from the environment, and fails naming flag and variable without it', () => {
    expect(values([], { TEST_URL: 'from-env' }).url).toBe('from-env');
    expect(() => values([])).toThrow(new UsageError('--url (or TEST_URL) is required: Where'));
  });

  it('validates numbers and ranges, naming where the bad value came from', () => {
    expect(() => values(['--url', 'u', '--port', '70000'])).toThrow(
      '--port must be in [0, 65535], got 70000',
    );
    expect(() => values(['--url', 'u'], { TEST_PORT: '1.5' })).toThrow(
      'TEST_PORT (from the environment) must be an integer, got "1.5"',
    );
    expect(() => values(['--url', 'u', '--rate', 'fast'])).toThrow('--rate must be a number');
    expect(values(['--url', 'u', '--rate', '0.5']).rate).toBe(0.5);
  });

  it('checks choices, booleans and unknown flags', () => {
    expect(() => values(['--url', 'u', '--mode', 'c'])).toThrow(
      '--mode must be one of a, b, got "c"',
    );
    expect(values(['--url', 'u', '--plain']).plain).toBe(true);
    expect(values(['--url', 'u'], { TEST_PLAIN: 'yes' }).plain).toBe(true);
    expect(() => values(['--url', 'u'], { TEST_PLAIN: 'maybe' })).toThrow('must be true or false');
    expect(() => values(['--url', 'u', '--nope'])).toThrow(UsageError);
    expect(values(['--url', 'u']).optional).toBeUndefined();
  });

  it('asks for help on --help and -h, before validating anything', () => {
    expect(parseOptions(SPECS, ['--help'], {})).toEqual({ help: true });
    expect(parseOptions(SPECS, ['-h'], {})).toEqual({ help: true });
  });
});

describe('helpText', () => {
  it('lists every option with its variable, default and range, but never a secret default', () => {
    const text = helpText('steadfast test [options]', 'Summary.', SPECS);
    expect(text).toContain('--port <integer>');
    expect(text).toContain('env TEST_PORT, default 8080, range [0, 65535]');
    expect(text).toContain('env TEST_URL, required');
    expect(text).toContain('one of a|b');
    expect(text).not.toContain('hunter2-default');
  });
});

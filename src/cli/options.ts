import { parseArgs } from 'node:util';

/** The kinds of value a command-line option holds. `secret` is a string never echoed. */
export type OptionKind = 'string' | 'secret' | 'integer' | 'number' | 'boolean';

/** One option of a command: a `--flag`, optionally an environment variable, validated. */
export interface OptionSpec {
  readonly kind: OptionKind;
  /** One line for `--help`. */
  readonly description: string;
  /** Environment variable read when the flag is absent (the flag wins). */
  readonly env?: string;
  readonly default?: string | number | boolean;
  /** Fail when neither the flag nor the environment variable is set. Default: false. */
  readonly required?: boolean;
  /** Bounds of `integer` and `number` options, inclusive. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of a `string` option. */
  readonly choices?: readonly string[];
}

/** The options of a command, by flag name (`'metrics-port'` → `--metrics-port`). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<Spec extends OptionSpec> = Spec['kind'] extends 'integer' | 'number'
  ? number
  : Spec['kind'] extends 'boolean'
    ? boolean
    : string;

/** Parsed values: options with a default or `required` are always present. */
export type OptionValues<Specs extends OptionSpecs> = {
  readonly [Flag in keyof Specs]: Specs[Flag] extends { readonly default: unknown }
    ? ValueOf<Specs[Flag]>
    : Specs[Flag] extends { readonly required: true }
      ? ValueOf<Specs[Flag]>
      : ValueOf<Specs[Flag]> | undefined;
};

/** A mistake in the command line or environment; the CLI prints it and exits with 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Result of {@link parseOptions}: the values, or a request for help. */
export type ParsedOptions<Specs extends OptionSpecs> =
  | { readonly help: true }
  | { readonly help: false; readonly values: OptionValues<Specs> };

/**
 * Parse `argv` (flags after the command name) against `specs`, falling back to `env`, then to
 * defaults; validate every value once and throw a {@link UsageError} naming the flag, its
 * environment variable and the allowed range.
 *
 * @example parseOptions({ port: { kind: 'integer', env: 'PORT', default: 8080, min: 0, max: 65535, description: 'port' } }, ['--port', '9000'], process.env)
 */
export function parseOptions<const Specs extends OptionSpecs>(
  specs: Specs,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): ParsedOptions<Specs> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(
          Object.entries(specs).map(([flag, spec]) => [
            flag,
            { type: spec.kind === 'boolean' ? ('boolean' as const) : ('string' as const) },
          ]),
        ),
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) return { help: true };

  const values: Record<string, string | number | boolean | undefined> = {};
  for (const [flag, spec] of Object.entries(specs)) {
    const fromFlag = parsed.values[flag];
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    const source = fromFlag !== undefined ? `--${flag}` : `${spec.env} (from the environment)`;
    let raw: string | boolean | undefined;
    if (fromFlag !== undefined) raw = fromFlag as string | boolean;
    else if (fromEnv !== undefined && fromEnv !== '') raw = fromEnv;

    if (raw === undefined) {
      if (spec.required) {
        throw new UsageError(
          `--${flag}${spec.env ? ` (or ${spec.env})` : ''} is required: ${spec.description}`,
        );
      }
      values[flag] = spec.default;
      continue;
    }
    values[flag] = convert(flag, spec, raw, source);
  }
  return { help: false, values: values as OptionValues<Specs> };
}

function convert(
  flag: string,
  spec: OptionSpec,
  raw: string | boolean,
  source: string,
): string | number | boolean {
  switch (spec.kind) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const normalized = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(normalized)) return true;
      if (['0', 'false', 'no', 'off'].includes(normalized)) return false;
      throw new UsageError(`${source} must be true or false, got "${raw}"`);
    }
    case 'integer':
    case 'number': {
      const text = String(raw).trim();
      const value = Number(text);
      if (
        text === '' ||
        !Number.isFinite(value) ||
        (spec.kind === 'integer' && !Number.isInteger(value))
      ) {
        throw new UsageError(
          `${source} must be ${spec.kind === 'integer' ? 'an integer' : 'a number'}, got "${raw}"`,
        );
      }
      if (
        (spec.min !== undefined && value < spec.min) ||
        (spec.max !== undefined && value > spec.max)
      ) {
        throw new UsageError(
          `${source} must be in [${spec.min ?? '-∞'}, ${spec.max ?? '∞'}], got ${value}`,
        );
      }
      return value;
    }
    default: {
      const value = String(raw);
      if (spec.choices && !spec.choices.includes(value)) {
        throw new UsageError(`${source} must be one of ${spec.choices.join(', ')}, got "${value}"`);
      }
      if (value === '') throw new UsageError(`--${flag} must not be empty`);
      return value;
    }
  }
}

/** The `--help` text of a command: usage, summary, and one line per option. */
export function helpText(usage: string, summary: string, specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([flag, spec]) => {
    const left = `  --${flag}${spec.kind === 'boolean' ? '' : ` <${spec.kind === 'secret' ? 'string' : spec.kind}>`}`;
    const details: string[] = [];
    if (spec.env) details.push(`env ${spec.env}`);
    if (spec.required) details.push('required');
    if (spec.default !== undefined && spec.kind !== 'secret')
      details.push(`default ${spec.default}`);
    if (spec.choices) details.push(`one of ${spec.choices.join('|')}`);
    if (spec.min !== undefined || spec.max !== undefined) {
      details.push(`range [${spec.min ?? '-∞'}, ${spec.max ?? '∞'}]`);
    }
    return {
      left,
      right: `${spec.description}${details.length ? ` (${details.join(', ')})` : ''}`,
    };
  });
  const width = Math.max(...rows.map((row) => row.left.length), 12) + 2;
  return [
    `Usage: ${usage}`,
    '',
    summary,
    '',
    'Options:',
    ...rows.map((row) => `${row.left.padEnd(width)}${row.right}`),
    `${'  -h, --help'.padEnd(width)}Show this help`,
    '',
  ].join('\n');
}

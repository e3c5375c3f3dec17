import * as v from 'valibot';
import { InvalidConfigurationError } from '../errors.js';

/**
 * The one vocabulary every options object is written in (`createClient`,
 * `clientCredentials`, `redisTokenStore`, `startTelemetry`, ...). Each option is declared
 * once — type, default, range and prose — and from that one declaration come the
 * validation, the defaults, the unknown-key error and the TSDoc `@defaultValue` of the
 * generated option interfaces (scripts/generate-options.ts).
 *
 * Built on valibot (zero dependencies, ~2 kB of it is bundled). Every message is ours: a
 * value is quoted back only where it cannot be a secret (numbers, unless `secret`).
 */

/** What the generated interface says about one option. */
export interface OptionDoc {
  /** Prose for the TSDoc comment. The default is added from the schema, never written here. */
  readonly doc: string;
  /** The TypeScript type of the option in the generated interface. Default: from the kind. */
  readonly type?: string;
  /** Words for a default that is not a plain value (`clientId`, a new in-memory store). */
  readonly defaultText?: string;
}

/** Documentation an option schema carries, read by the generator and by `describeOption`. */
export interface OptionMeta {
  readonly doc: string;
  readonly type: string;
  readonly defaultText?: string;
  /** The interface an options object is rendered as. */
  readonly interfaceName?: string;
}

/** An option schema checking a `T` (any input is accepted and checked). */
export type Schema<T> = v.GenericSchema<T, T>;
/** An option that may be left out; `D` is its default (`undefined`: none). */
export type Optional<T, D extends v.Default<Schema<T>, undefined>> = v.OptionalSchema<Schema<T>, D>;
/** A nested options object (`concurrency`, `retry`): the object schema stays reachable. */
export type Nested<O extends AnyOptionsObject, T, D> = v.OptionalSchema<
  v.GenericSchema<unknown, T>,
  D
> & { readonly section: O };

/** An options object: a strict object whose entries are options. */
export type OptionsObject<E extends v.ObjectEntries> = Schema<
  v.InferOutput<v.StrictObjectSchema<E, undefined>>
> & {
  readonly entries: E;
};
// biome-ignore lint/suspicious/noExplicitAny: any entries
export type AnyOptionsObject = OptionsObject<any>;

/** The validated value of an options schema. */
export type Resolved<S> = S extends v.GenericSchema<infer _I, infer T> ? T : never;

const META = 'steadfast.option';

function withMeta<T>(schema: Schema<T>, meta: OptionMeta): Schema<T> {
  return v.pipe(schema, v.metadata({ [META]: meta }));
}

function optional<T, D extends v.Default<Schema<T>, undefined>>(
  schema: Schema<T>,
  fallback: D,
): Optional<T, D> {
  return (
    fallback === undefined ? v.optional(schema) : v.optional(schema, fallback as never)
  ) as never;
}

/** `null` or the type: what a wrong value was, never the value itself. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** A wrong value as quoted back in a message: numbers shown, strings never (could be a secret). */
export function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return 'a string';
  return describeType(value);
}

/** setTimeout's limit (~24.8 days): the largest duration any option accepts. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

// ---------------------------------------------------------------------------------------
// Kinds of option

export interface NumberSpec<D> extends OptionDoc {
  readonly default?: D;
  /** Inclusive lower bound. */
  readonly min?: number;
  /** Exclusive lower bound. */
  readonly above?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** A wrong value is described by its type only (an encryption key given as a number). */
  readonly secret?: boolean;
}

/** A number in a range; `NaN` never passes, `Infinity` only without `max`. */
export function numberOption<D extends number | undefined = undefined>(
  spec: NumberSpec<D>,
): Optional<number, D> {
  const got = spec.secret ? describeType : describe;
  const pipe: v.PipeItem<number, number, v.BaseIssue<unknown>>[] = [];
  if (spec.integer) pipe.push(v.integer((i) => `must be a whole number, got ${got(i.input)}`));
  if (spec.above !== undefined) {
    const above = spec.above;
    pipe.push(v.gtValue(above, (i) => `must be greater than ${above}, got ${got(i.input)}`));
  }
  if (spec.min !== undefined) {
    const min = spec.min;
    pipe.push(v.minValue(min, (i) => `must be ≥ ${min}, got ${got(i.input)}`));
  }
  if (spec.max !== undefined) {
    const max = spec.max;
    pipe.push(v.maxValue(max, (i) => `must be ≤ ${max}, got ${got(i.input)}`));
  }
  const schema = v.pipe(
    v.number((i) =>
      i.input === undefined ? 'is required' : `must be a number, got ${got(i.input)}`,
    ),
    ...(pipe as []),
  ) as Schema<number>;
  return optional(withMeta(schema, meta(spec, 'number')), spec.default as D);
}

/** A number every options object of its kind needs (a rate limiter's `limit`). */
export function requiredNumber(spec: Omit<NumberSpec<undefined>, 'default'>): Schema<number> {
  return numberOption(spec).wrapped;
}

/** `true` or `false`. */
export function booleanOption<D extends boolean | undefined = undefined>(
  spec: OptionDoc & { readonly default?: D },
): Optional<boolean, D> {
  const schema = v.boolean((i) => `must be true or false, got ${describe(i.input)}`);
  return optional(withMeta(schema, meta(spec, 'boolean')), spec.default as D);
}

export interface TextSpec extends OptionDoc {
  /** Default: 4096. */
  readonly maxLength?: number;
  /** The value must match it whole; `rule` says in words what it asks for. */
  readonly pattern?: RegExp;
  readonly rule?: string;
  /** `''` passes (a key prefix without namespace). Default: an empty string fails. */
  readonly emptyAllowed?: boolean;
  /** Describe a wrong value by its type only. Strings are never quoted either way. */
  readonly secret?: boolean;
}

function textSchema(spec: TextSpec): Schema<string> {
  const got = spec.secret ? describeType : describe;
  const maxLength = spec.maxLength ?? 4096;
  const pipe: v.PipeItem<string, string, v.BaseIssue<unknown>>[] = [];
  if (!spec.emptyAllowed) pipe.push(v.nonEmpty('must not be empty'));
  pipe.push(v.maxLength(maxLength, `must be at most ${maxLength} characters`));
  if (spec.pattern) pipe.push(v.regex(spec.pattern, `must be ${spec.rule ?? 'well-formed'}`));
  const schema = v.pipe(
    v.string((i) =>
      i.input === undefined ? 'is required' : `must be a string, got ${got(i.input)}`,
    ),
    ...(pipe as []),
  ) as Schema<string>;
  return withMeta(schema, meta(spec, 'string'));
}

/** A string every options object needs (`name`, `clientId`). */
export function requiredText(spec: TextSpec): Schema<string> {
  return textSchema(spec);
}

/** A string that may be left out. */
export function textOption<D extends string | undefined = undefined>(
  spec: TextSpec & { readonly default?: D },
): Optional<string, D> {
  return optional(textSchema(spec), spec.default as D);
}

/** One of a few fixed strings. */
export function oneOfOption<
  const T extends readonly string[],
  const D extends T[number] | undefined = undefined,
>(values: T, spec: OptionDoc & { readonly default?: D }): Optional<T[number], D> {
  const words = values.map((a) => `"${a}"`).join(' or ');
  const schema = v.picklist(values, (i) => `must be ${words}, got ${describe(i.input)}`);
  const type = values.map((a) => `'${a}'`).join(' | ');
  return optional(withMeta(schema as Schema<T[number]>, meta(spec, type)), spec.default as D);
}

/** A function (a predicate, a source of randomness, a logger). */
export function functionOption<F>(
  spec: OptionDoc & { readonly type: string },
): Optional<F, undefined> {
  const schema = v.custom<F>(
    (value) => typeof value === 'function',
    (i) => `must be a function, got ${describe(i.input)}`,
  );
  return optional(withMeta(schema, meta(spec, spec.type)), undefined);
}

/**
 * An object with every method in `methods` (duck-typed, so an instance from another copy
 * of a library passes). `what` completes "must be ...".
 */
export function objectWithMethods<T>(
  methods: readonly string[],
  spec: OptionDoc & { readonly type: string; readonly what: string },
): Optional<T, undefined> {
  const schema = v.custom<T>(
    (value) =>
      value !== null &&
      (typeof value === 'object' || typeof value === 'function') &&
      methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function'),
    (i) => `must be ${spec.what}, got ${describeType(i.input)}`,
  );
  return optional(withMeta(schema, meta(spec, spec.type)), undefined);
}

/** Any plain object passed through unchecked (TLS options, NodeSDK configuration). */
export function plainObject<T>(
  spec: OptionDoc & { readonly type: string },
): Optional<T, undefined> {
  const schema = v.custom<T>(isPlainObject, (i) => `must be an object, got ${describe(i.input)}`);
  return optional(withMeta(schema, meta(spec, spec.type)), undefined);
}

/** What is wrong with a value ("must be ..."), or with its item `index`, or `undefined`. */
export type Problem = string | readonly [index: number, message: string] | undefined;

/**
 * Any value `check` accepts: it returns what is wrong or `undefined`. For rules no other
 * kind expresses (URLs, keys, lists of either); its message must never quote a secret.
 */
export function customOption<T, D extends T | undefined = undefined>(
  check: (value: unknown) => Problem,
  spec: OptionDoc & { readonly type: string; readonly default?: D },
): Optional<T, D> {
  const schema = v.pipe(
    v.unknown(),
    v.rawCheck(({ dataset, addIssue }) => {
      const problem = check(dataset.value);
      if (problem === undefined) return;
      if (typeof problem === 'string') {
        addIssue({ message: problem });
        return;
      }
      const list = dataset.value as unknown[];
      const [key, message] = problem;
      addIssue({
        message,
        path: [{ type: 'array', origin: 'value', input: list, key, value: list[key] }],
      });
    }),
  ) as Schema<unknown> as Schema<T>;
  return optional(withMeta(schema, meta(spec, spec.type)), spec.default as D);
}

/** A list of `items`, each checked (an error names `key[i]`). */
export function listOption<T>(
  items: Schema<T>,
  spec: OptionDoc & {
    readonly type: string;
    readonly minItems?: number;
    readonly maxItems?: number;
    readonly what?: string;
  },
): Optional<T[], undefined> {
  const what = spec.what ?? 'an array';
  const pipe: v.PipeItem<T[], T[], v.BaseIssue<unknown>>[] = [];
  if (spec.minItems !== undefined || spec.maxItems !== undefined) {
    const min = spec.minItems ?? 0;
    const max = spec.maxItems ?? Number.POSITIVE_INFINITY;
    pipe.push(
      v.check(
        (list) => list.length >= min && list.length <= max,
        (i) => `must list ${min}–${max} entries, got ${(i.input as unknown[]).length}`,
      ),
    );
  }
  const schema = v.pipe(
    v.array(items, (i) => `must be ${what}, got ${describeType(i.input)}`),
    ...(pipe as []),
  ) as Schema<T[]>;
  return optional(withMeta(schema, meta(spec, spec.type)), undefined);
}

/** One item of a list: a string `check` accepts (it returns what is wrong, or `undefined`). */
export function listItem(check: (value: string) => string | undefined): Schema<string> {
  let problem: string | undefined;
  return v.custom<string>(
    (value) => {
      problem = typeof value === 'string' ? check(value) : 'must be a string';
      return problem === undefined;
    },
    () => problem ?? 'is not valid',
  );
}

// ---------------------------------------------------------------------------------------
// Options objects

/**
 * A rule between options (`attemptTimeoutMs ≤ totalTimeoutMs`): given the validated
 * object, the dotted path of the option to blame and what is wrong, or `undefined`.
 */
export type CrossCheck<T> = (options: T) => readonly [field: string, message: string] | undefined; // field '': the object itself

/**
 * An options object: `entries` are its options; any other key fails with "unknown option",
 * naming the allowed ones; a missing required option fails with "is required".
 */
export function optionsObject<E extends v.ObjectEntries>(
  interfaceName: string,
  doc: string,
  entries: E,
  checks: readonly CrossCheck<v.InferOutput<v.StrictObjectSchema<E, undefined>>>[] = [],
): OptionsObject<E> {
  const allowed = Object.keys(entries).join(', ');
  const object = v.strictObject(entries, (issue) => {
    if (issue.expected === 'never') return `unknown option; allowed: ${allowed}`;
    if (issue.path?.length) return 'is required';
    return `must be an object, got ${describe(issue.input)}`;
  });
  const items: v.PipeItem<unknown, unknown, v.BaseIssue<unknown>>[] = [
    v.metadata({ [META]: { doc, type: interfaceName, interfaceName } satisfies OptionMeta }),
  ];
  if (checks.length > 0) {
    items.push(
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        for (const check of checks) {
          const problem = check(dataset.value as never);
          if (!problem) continue;
          const path = problem[0] ? pathTo(dataset.value, problem[0]) : undefined;
          addIssue({ message: problem[1], ...(path ? { path } : {}) });
          return;
        }
      }),
    );
  }
  // valibot takes an array for an object; an options object never is one.
  const notArray = v.custom<Record<string, unknown>>(
    isPlainObject,
    (i) => `must be an object, got ${describe(i.input)}`,
  );
  return Object.assign(v.pipe(notArray, object as never, ...(items as [])), { entries }) as never;
}

/** A nested options object that is always on (`concurrency`, `transport`): absent is `{}`. */
export function nested<O extends AnyOptionsObject>(
  object: O,
): Nested<O, Resolved<O>, Record<string, never>> {
  return Object.assign(v.optional(object, {}), { section: object }) as never;
}

/**
 * A nested options object that `false` turns off. `on`: absent means the defaults (`retry`);
 * otherwise absent means off (`chaos`). `null` and `true` are neither and fail.
 */
export function section<O extends AnyOptionsObject, On extends boolean>(
  object: O,
  on: On,
): Nested<O, Resolved<O> | false, On extends true ? Record<string, never> : false> {
  // Picks the one schema that applies instead of trying both (a union would build an issue
  // for the `false` branch on every object), so its issues are the object's own.
  const either = v.lazy((input) =>
    input === false ? OFF : isPlainObject(input) ? (object as Schema<unknown>) : NEITHER,
  );
  return Object.assign(v.optional(either, on ? {} : false), { section: object }) as never;
}

/**
 * A nested options object that is off unless asked for (`telemetry.otelMetrics`): absent or
 * `false` is off, `true` is on with the object's defaults, an object is on with its own
 * options. `null` is neither and fails.
 */
export function optInSection<O extends AnyOptionsObject>(
  object: O,
): Nested<O, Resolved<O> | false, false> & { readonly optIn: true } {
  // `true` is validated as `{}`, so it gets exactly the defaults an empty object gets.
  const on = v.pipe(
    v.literal(true),
    v.transform((): unknown => ({})),
    object as Schema<unknown>,
  );
  const either = v.lazy((input) =>
    input === false
      ? OFF
      : input === true
        ? on
        : isPlainObject(input)
          ? (object as Schema<unknown>)
          : NEITHER_BOOLEAN,
  );
  return Object.assign(v.optional(either, false), { section: object, optIn: true }) as never;
}

/**
 * A nested options object that may be left out — it then stays `undefined`, no defaults
 * filled in — or turned off with `false`: a call's `retry`, which falls back to the
 * client's. `defaultText` says what applies when it is left out.
 */
export function optionalSection<O extends AnyOptionsObject>(
  object: O,
  defaultText: string,
): Nested<O, Resolved<O> | false, undefined> & { readonly defaultText: string } {
  const either = v.lazy((input) =>
    input === false ? OFF : isPlainObject(input) ? (object as Schema<unknown>) : NEITHER,
  );
  return Object.assign(v.optional(either), { section: object, defaultText }) as never;
}

/**
 * The same option without its default: left out, it stays `undefined`. For a call's options
 * that fall back to the client's value; `defaultText` says so in the generated TSDoc.
 */
export function withoutDefault<T>(
  // biome-ignore lint/suspicious/noExplicitAny: any default
  option: v.OptionalSchema<Schema<T>, any>,
  defaultText: string,
): Optional<T, undefined> {
  const inner = option.wrapped;
  return v.optional(withMeta(inner, { ...metaOf(inner), defaultText })) as never;
}

const OFF = v.literal(false);
const NEITHER = v.custom<never>(
  () => false,
  (i) => `must be an object or false, got ${describe(i.input)}`,
);

const NEITHER_BOOLEAN = v.custom<never>(
  () => false,
  (i) => `must be an object, true or false, got ${describe(i.input)}`,
);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function pathTo(input: unknown, field: string): [v.IssuePathItem, ...v.IssuePathItem[]] {
  const path: v.IssuePathItem[] = [];
  let value = input as Record<string, unknown>;
  for (const key of field.split('.')) {
    path.push({ type: 'object', origin: 'value', input: value, key, value: value?.[key] });
    value = value?.[key] as Record<string, unknown>;
  }
  return path as [v.IssuePathItem, ...v.IssuePathItem[]];
}

// ---------------------------------------------------------------------------------------
// Parsing

const ABORT_EARLY = { abortEarly: true } as const;

/**
 * Validate `input` against an options schema and fill in the defaults, or throw
 * `InvalidConfigurationError` naming the first wrong option by its path below `root`
 * (`retry.budget.ratio`, `scope[1]`); `root` itself names a wrong object (default
 * `options`). Fast enough for per-call options: one pass, stopping at the first problem.
 */
// biome-ignore lint/suspicious/noExplicitAny: any option schema
export function parseOptions<S extends v.GenericSchema<any, any>>(
  schema: S,
  input: unknown,
  root = '',
): Resolved<S> {
  const result = v.safeParse(schema, input, ABORT_EARLY);
  if (result.success) return result.output as Resolved<S>;
  const [field, message] = locate(result.issues[0], root);
  throw new InvalidConfigurationError(field || root || 'options', message);
}

function locate(issue: v.BaseIssue<unknown>, prefix: string): [string, string] {
  return [join(prefix, issue.path), issue.message];
}

function join(prefix: string, path: readonly v.IssuePathItem[] | undefined): string {
  let field = prefix;
  for (const item of path ?? []) {
    const key = String(item.key);
    field = item.type === 'array' ? `${field}[${key}]` : field ? `${field}.${key}` : key;
  }
  return field;
}

// ---------------------------------------------------------------------------------------
// Reading a schema: defaults and documentation

function meta(spec: OptionDoc, type: string): OptionMeta {
  return {
    doc: spec.doc,
    type: spec.type ?? type,
    ...(spec.defaultText === undefined ? {} : { defaultText: spec.defaultText }),
  };
}

/** The default values an options object declares, nested objects included (`false` ones not). */
export type DefaultsOf<E> = {
  readonly [K in keyof E as [DefaultOf<E[K]>] extends [never] ? never : K]: DefaultOf<E[K]>;
};
type DefaultOf<S> = S extends { readonly section: infer O; readonly default: infer D }
  ? D extends false
    ? never
    : O extends { readonly entries: infer E }
      ? DefaultsOf<E>
      : never
  : S extends v.OptionalSchema<v.GenericSchema, infer D>
    ? [D] extends [undefined]
      ? never
      : D
    : never;

/** The defaults of an options object, read off its schema (nested objects that are on included). */
export function defaultsOf<E extends v.ObjectEntries>(object: OptionsObject<E>): DefaultsOf<E> {
  const defaults: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(object.entries)) {
    const option = entry as { default?: unknown; section?: AnyOptionsObject };
    if (option.section) {
      if (option.default !== false) defaults[key] = defaultsOf(option.section);
    } else if (option.default !== undefined) {
      defaults[key] = option.default;
    }
  }
  return Object.freeze(defaults) as never;
}

/** One option as the generated interface shows it. */
export interface DescribedOption extends OptionMeta {
  readonly key: string;
  readonly optional: boolean;
  readonly default: unknown;
  /** The options object of a nested option. */
  readonly section?: AnyOptionsObject;
  /** A nested option that `false` turns off. */
  readonly canBeOff: boolean;
  /** A nested option that is off by default and `true` turns on with its defaults. */
  readonly canBeTrue: boolean;
}

/** What an options object documents about itself and each of its options. */
export function describeOptions(object: AnyOptionsObject): {
  readonly meta: OptionMeta;
  readonly options: readonly DescribedOption[];
} {
  const options = Object.entries(object.entries).map(([key, entry]): DescribedOption => {
    const option = entry as v.GenericSchema & {
      default?: unknown;
      wrapped?: v.GenericSchema;
      section?: AnyOptionsObject;
      defaultText?: string;
      optIn?: true;
    };
    const optionalEntry = option.type === 'optional';
    const inner = (optionalEntry ? option.wrapped : option) as v.GenericSchema;
    const section = option.section;
    const own: OptionMeta = {
      ...(section ? metaOf(section) : metaOf(inner)),
      // an optionalSection() says what applies when it is left out
      ...(option.defaultText === undefined ? {} : { defaultText: option.defaultText }),
    };
    return {
      ...own,
      key,
      optional: optionalEntry,
      default: option.default,
      canBeOff: section !== undefined && option.wrapped?.type === 'lazy',
      canBeTrue: option.optIn === true,
      ...(section ? { section } : {}),
    };
  });
  return { meta: metaOf(object), options };
}

function metaOf(schema: v.GenericSchema): OptionMeta {
  const found = (v.getMetadata(schema as never) as Record<string, OptionMeta>)[META];
  if (!found) throw new Error(`schema ${schema.type} carries no option documentation`);
  return found;
}

import { InvalidConfigurationError, safeUrl } from '../errors.js';

/**
 * The validation rules every options factory uses (`createClient`, `clientCredentials`,
 * `redisTokenStore`, telemetry): each throws `InvalidConfigurationError` naming the field
 * and the rule, and never echoes a value that could be a secret.
 */

export type Bag = Record<string, unknown>;

export function objectAt(value: unknown, field: string): Bag {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidConfigurationError(field, `must be an object, got ${describe(value)}`);
  }
  return value as Bag;
}

export function onlyKeys(bag: Bag, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(bag)) {
    if (!allowed.includes(key)) {
      throw new InvalidConfigurationError(
        prefix ? `${prefix}.${key}` : key,
        `unknown option; allowed: ${allowed.join(', ')}`,
      );
    }
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `a string`;
  return typeof value;
}

export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** `min` is exclusive. */
  readonly above?: number;
}

export function numberAt(
  bag: Bag,
  key: string,
  field: string,
  fallback: number,
  rule: NumberRule,
): number {
  const value = bag[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new InvalidConfigurationError(field, `must be a number, got ${describe(value)}`);
  }
  if (rule.integer && !Number.isInteger(value)) {
    throw new InvalidConfigurationError(field, `must be a whole number, got ${value}`);
  }
  if (rule.above !== undefined && !(value > rule.above)) {
    throw new InvalidConfigurationError(field, `must be greater than ${rule.above}, got ${value}`);
  }
  if (rule.min !== undefined && value < rule.min) {
    throw new InvalidConfigurationError(field, `must be ≥ ${rule.min}, got ${value}`);
  }
  if (rule.max !== undefined && value > rule.max) {
    throw new InvalidConfigurationError(field, `must be ≤ ${rule.max}, got ${value}`);
  }
  return value;
}

export function booleanAt(bag: Bag, key: string, field: string, fallback: boolean): boolean {
  const value = bag[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new InvalidConfigurationError(field, `must be true or false, got ${describe(value)}`);
  }
  return value;
}

export function functionAt<T>(bag: Bag, key: string, field: string): T | undefined {
  const value = bag[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new InvalidConfigurationError(field, `must be a function, got ${describe(value)}`);
  }
  return value as T;
}

export const MAX_TIMEOUT_MS = 2 ** 31 - 1; // setTimeout's limit (~24.8 days)

export function originOf(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Quoted without userinfo, query or fragment: a URL given by mistake may carry secrets.
    throw new InvalidConfigurationError(
      field,
      `must be an absolute http(s) URL, got "${safeUrl(value)}"`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidConfigurationError(field, `must use http: or https:, got ${url.protocol}`);
  }
  return url.origin;
}

/**
 * An optional section that `false` turns off (`retry`, `telemetry.tracing`, ...): `false`
 * stays `false`, `undefined` is an empty section (all defaults), anything else must be an
 * object. `null` and `true` are neither and fail.
 */
export function sectionAt(bag: Bag, key: string, field: string): Bag | false {
  const value = bag[key];
  if (value === false) return false;
  if (value === undefined) return {};
  return objectAt(value, field);
}

/**
 * What kind of value was given, never the value: for options that may hold a secret
 * (`clientSecret`, `encryptionKey`, URLs with a password), where even a number is not echoed.
 */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

export interface TextRule {
  /** Absent is allowed (`undefined` comes back). Default: required. */
  readonly optional?: boolean;
  /** Default: 4096. */
  readonly maxLength?: number;
  /** The value must match it whole; `rule` says in words what it asks for. */
  readonly pattern?: RegExp;
  readonly rule?: string;
  /** Say only the type of a wrong value, never the value (for secrets). Strings are never quoted either way. */
  readonly secret?: boolean;
}

/** A non-empty string option, never quoted back (it could be a secret). */
export function textAt(
  bag: Bag,
  key: string,
  field: string,
  rule: TextRule = {},
): string | undefined {
  const value = bag[key];
  if (value === undefined) {
    if (rule.optional) return undefined;
    throw new InvalidConfigurationError(field, 'is required');
  }
  if (typeof value !== 'string') {
    const got = rule.secret ? describeType(value) : describe(value);
    throw new InvalidConfigurationError(field, `must be a string, got ${got}`);
  }
  if (value.length === 0) throw new InvalidConfigurationError(field, 'must not be empty');
  const maxLength = rule.maxLength ?? 4096;
  if (value.length > maxLength) {
    throw new InvalidConfigurationError(field, `must be at most ${maxLength} characters`);
  }
  if (rule.pattern && !rule.pattern.test(value)) {
    throw new InvalidConfigurationError(field, `must be ${rule.rule ?? 'well-formed'}`);
  }
  return value;
}

/** One of a few fixed strings, or `fallback` when absent. */
export function oneOfAt<T extends string>(
  bag: Bag,
  key: string,
  field: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = bag[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidConfigurationError(
      field,
      `must be ${allowed.map((a) => `"${a}"`).join(' or ')}, got ${describe(value)}`,
    );
  }
  return value as T;
}

export interface HttpUrlRule {
  /** A query part is allowed (some token endpoints take one). Default: true. */
  readonly query?: boolean;
}

/**
 * An absolute http(s) URL without userinfo or fragment, as given (not normalised), or
 * `undefined` when absent. Messages never quote the URL: it could carry a password or a key.
 */
export function httpUrlAt(
  bag: Bag,
  key: string,
  field: string,
  rule: HttpUrlRule = {},
): string | undefined {
  const value = bag[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new InvalidConfigurationError(field, `must be a URL string, got ${describeType(value)}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidConfigurationError(field, 'is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidConfigurationError(field, `must use http: or https:, got ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new InvalidConfigurationError(field, 'must not carry credentials (user:password@)');
  }
  if (url.hash || value.includes('#')) {
    throw new InvalidConfigurationError(field, 'must not have a fragment (#...)');
  }
  if (rule.query === false && (url.search || value.includes('?'))) {
    throw new InvalidConfigurationError(field, 'must not have a query (?...)');
  }
  return value;
}

/**
 * An object with every method in `methods` (duck-typed, so an instance from another copy
 * of a library passes), or `undefined` when absent. `what` completes "must be ...".
 */
export function objectWithMethodsAt<T>(
  bag: Bag,
  key: string,
  field: string,
  methods: readonly string[],
  what: string,
): T | undefined {
  const value = bag[key];
  if (value === undefined) return undefined;
  const ok =
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    methods.every((m) => typeof (value as Bag)[m] === 'function');
  if (!ok)
    throw new InvalidConfigurationError(field, `must be ${what}, got ${describeType(value)}`);
  return value as T;
}

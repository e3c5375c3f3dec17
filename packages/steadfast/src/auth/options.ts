import type { Dispatcher } from 'undici';
import {
  type Bag,
  describe,
  functionAt,
  httpUrlAt,
  numberAt,
  objectAt,
  objectWithMethodsAt,
  oneOfAt,
  onlyKeys,
  textAt,
} from '../config/rules.js';
import { InvalidConfigurationError } from '../errors.js';
import { memoryTokenStore } from './store/memory.js';
import type { TokenStore } from './store/types.js';
import type { ClientAuthMethod } from './token-endpoint.js';

/** Options of {@link clientCredentials}. Every duration is in milliseconds. */
export interface ClientCredentialsOptions {
  /** The token endpoint. Give this or `issuer`. */
  readonly tokenUrl?: string;
  /**
   * The authorization server's issuer; the token endpoint is discovered from
   * `/.well-known/oauth-authorization-server` (RFC 8414), then
   * `/.well-known/openid-configuration`, on the first token request.
   */
  readonly issuer?: string;
  readonly clientId: string;
  /** Sent to the token endpoint only; never stored, logged or emitted. */
  readonly clientSecret: string;
  /** Default: `client_secret_basic`. */
  readonly clientAuthMethod?: ClientAuthMethod;
  /** Scopes, as a space-separated string or a list. Default: none. */
  readonly scope?: string | readonly string[];
  /** `audience` form parameter (Auth0, Okta style). Default: none. */
  readonly audience?: string;
  /** `resource` indicator (RFC 8707). Default: none. */
  readonly resource?: string;
  /** Low-cardinality name for metrics, events and errors. Default: `clientId`. */
  readonly credential?: string;
  /** Where tokens are shared. Default: {@link memoryTokenStore} (this process only). */
  readonly store?: TokenStore;
  /** undici dispatcher for the token endpoint (proxies, TLS options). Default: undici's global dispatcher. */
  readonly dispatcher?: Dispatcher;
  /** Lifetime assumed when the response has no `expires_in`. Default: 300 000 (5 min). */
  readonly defaultLifetimeMs?: number;
  /** Longer `expires_in` values are rejected as malformed. Default: 604 800 000 (7 days). */
  readonly maxLifetimeMs?: number;
  /** Timeout of one token-endpoint request. Default: 10 000 (10 s). */
  readonly tokenEndpointTimeoutMs?: number;
  /** Fleet-wide refresh lease; must exceed `tokenEndpointTimeoutMs`. Default: 12 000 (12 s). */
  readonly leaseMs?: number;
  /** Never send a token closer than this to its expiry (capped at 10 % of the lifetime). Default: 30 000 (30 s). */
  readonly hardSkewMs?: number;
  /** Soft (refresh-ahead) window as a share of the lifetime, in (0, 0.5]. Default: 0.2. */
  readonly softWindowRatio?: number;
  /** Lower clamp of the soft window (never more than half the lifetime). Default: 60 000 (60 s). */
  readonly minSoftWindowMs?: number;
  /** Upper clamp of the soft window. Default: 600 000 (10 min). */
  readonly maxSoftWindowMs?: number;
  /** First backoff after a retryable token-endpoint failure; doubles per failure. Default: 1 000 (1 s). */
  readonly backoffMinMs?: number;
  /** Cap of that backoff (a longer `Retry-After` wins, up to 1 h). Default: 60 000 (60 s). */
  readonly backoffMaxMs?: number;
  /** Backoff after `invalid_client`, `invalid_scope`, `unauthorized_client`, …. Default: 300 000 (5 min). */
  readonly configurationErrorBackoffMs?: number;
  /** How long the store stays bypassed after a failure before it is probed again. Default: 5 000 (5 s). */
  readonly storeBreakMs?: number;
  /** Re-sends after a 401 per call. Default: 1. Range: 0–3. */
  readonly maxReauthorizations?: number;
  /** A re-sent call rejected with a token younger than this counts toward the auth circuit. Default: 30 000 (30 s). */
  readonly minTokenAgeMs?: number;
  /** Fresh-token rejections within `authCircuitWindowMs` that open the auth circuit. Default: 3. */
  readonly authCircuitThreshold?: number;
  /** Default: 60 000 (60 s). */
  readonly authCircuitWindowMs?: number;
  /** First cool-down of the auth circuit; doubles per re-open. Default: 30 000 (30 s). */
  readonly authCircuitCooldownMs?: number;
  /** Default: 600 000 (10 min). */
  readonly authCircuitMaxCooldownMs?: number;
  /** Where the auth circuit writes its one error line. Default: `console.error`. */
  readonly logError?: (message: string) => void;
}

/** The defaults, in one place. */
export const CLIENT_CREDENTIALS_DEFAULTS = {
  clientAuthMethod: 'client_secret_basic' as ClientAuthMethod,
  defaultLifetimeMs: 300_000, // 5 min
  maxLifetimeMs: 7 * 24 * 3600 * 1000, // 7 days
  tokenEndpointTimeoutMs: 10_000, // 10 s
  leaseMs: 12_000, // 12 s
  hardSkewMs: 30_000, // 30 s
  hardSkewRatio: 0.1,
  softWindowRatio: 0.2,
  minSoftWindowMs: 60_000, // 60 s
  maxSoftWindowMs: 600_000, // 10 min
  backoffMinMs: 1_000, // 1 s
  backoffMaxMs: 60_000, // 60 s
  configurationErrorBackoffMs: 300_000, // 5 min
  storeBreakMs: 5_000, // 5 s
  maxReauthorizations: 1,
  minTokenAgeMs: 30_000, // 30 s
  authCircuitThreshold: 3,
  authCircuitWindowMs: 60_000, // 60 s
  authCircuitCooldownMs: 30_000, // 30 s
  authCircuitMaxCooldownMs: 600_000, // 10 min
} as const;

export type NormalizedClientCredentials = Required<
  Omit<
    ClientCredentialsOptions,
    'tokenUrl' | 'issuer' | 'audience' | 'resource' | 'store' | 'dispatcher' | 'scope'
  >
> & {
  readonly tokenUrl: string | undefined;
  /** The store given, or `undefined` for the default (a new in-memory store). */
  readonly store: TokenStore | undefined;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly resource: string | undefined;
  readonly scopes: readonly string[];
  readonly dispatcher: Dispatcher | undefined;
  readonly hardSkewRatio: number;
};

const OPTION_KEYS = [
  'tokenUrl',
  'issuer',
  'clientId',
  'clientSecret',
  'clientAuthMethod',
  'scope',
  'audience',
  'resource',
  'credential',
  'store',
  'dispatcher',
  'defaultLifetimeMs',
  'maxLifetimeMs',
  'tokenEndpointTimeoutMs',
  'leaseMs',
  'hardSkewMs',
  'softWindowRatio',
  'minSoftWindowMs',
  'maxSoftWindowMs',
  'backoffMinMs',
  'backoffMaxMs',
  'configurationErrorBackoffMs',
  'storeBreakMs',
  'maxReauthorizations',
  'minTokenAgeMs',
  'authCircuitThreshold',
  'authCircuitWindowMs',
  'authCircuitCooldownMs',
  'authCircuitMaxCooldownMs',
  'logError',
] as const satisfies readonly (keyof ClientCredentialsOptions)[];

/**
 * The methods a {@link TokenStore} has, read off the in-memory store (which implements the
 * whole interface), so the check follows the interface when it grows: a store given in
 * `store` is recognised by them (duck-typed, like createClient's dispatcher).
 */
function storeMethods(): string[] {
  const prototype = Object.getPrototypeOf(memoryTokenStore()) as object;
  return Object.getOwnPropertyNames(prototype).filter(
    (name) =>
      name !== 'constructor' &&
      typeof Object.getOwnPropertyDescriptor(prototype, name)?.value === 'function',
  );
}

/** The options whose default is a number (durations, counts, ratios). */
type NumericOption = {
  [K in keyof typeof CLIENT_CREDENTIALS_DEFAULTS &
    keyof ClientCredentialsOptions]: (typeof CLIENT_CREDENTIALS_DEFAULTS)[K] extends number
    ? K
    : never;
}[keyof typeof CLIENT_CREDENTIALS_DEFAULTS & keyof ClientCredentialsOptions];

const DAY_MS = 86_400_000;
/** RFC 6749 §3.3 scope-token: printable ASCII without space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const MAX_SCOPES = 256;
/** `credential` is a metric label. */
const CREDENTIAL = /^[\w.:@/-]{1,128}$/;

/** RFC 8707 §2: an absolute URI without a fragment. Never quoted back. */
function absoluteUri(bag: Bag, key: string, field: string): string | undefined {
  const value = textAt(bag, key, field, { optional: true });
  if (value === undefined) return undefined;
  let ok = false;
  try {
    ok = new URL(value).hash === '' && !value.includes('#');
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new InvalidConfigurationError(
      field,
      'must be an absolute URI without a fragment (RFC 8707)',
    );
  }
  return value;
}

function scopesAt(bag: Bag): string[] {
  const value = bag.scope;
  if (value === undefined) return [];
  let tokens: unknown[];
  if (typeof value === 'string') tokens = value.split(' ');
  else if (Array.isArray(value)) tokens = value;
  else {
    throw new InvalidConfigurationError(
      'scope',
      `must be a space-separated string or a list of strings, got ${describe(value)}`,
    );
  }
  if (tokens.length > MAX_SCOPES) {
    throw new InvalidConfigurationError('scope', `must have at most ${MAX_SCOPES} scopes`);
  }
  tokens.forEach((token, i) => {
    const field = Array.isArray(value) ? `scope[${i}]` : 'scope';
    if (typeof token !== 'string') {
      throw new InvalidConfigurationError(field, `must be a string, got ${describe(token)}`);
    }
    // An empty string from a double space is skipped; an empty list entry is a mistake.
    if (token === '' && typeof value === 'string') return;
    if (!SCOPE_TOKEN.test(token) || token.length > 1024) {
      throw new InvalidConfigurationError(
        field,
        'scope tokens must be printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)',
      );
    }
  });
  return (tokens as string[]).filter((s) => s !== '');
}

/**
 * Validate once, at construction, the way `createClient` does: unknown keys, types,
 * ranges and URLs fail with `InvalidConfigurationError` naming the field; `null` is never
 * read as "use the default". Messages never echo the secret.
 */
export function normalizeClientCredentials(
  input: ClientCredentialsOptions,
): NormalizedClientCredentials {
  const bag = objectAt(input, 'options');
  onlyKeys(bag, OPTION_KEYS, '');
  const d = CLIENT_CREDENTIALS_DEFAULTS;

  // RFC 8414 §2: an issuer has no query or fragment; a token endpoint may have a query.
  const tokenUrl = httpUrlAt(bag, 'tokenUrl', 'tokenUrl');
  const issuer = httpUrlAt(bag, 'issuer', 'issuer', { query: false });
  if ((tokenUrl === undefined) === (issuer === undefined)) {
    throw new InvalidConfigurationError('tokenUrl', 'give exactly one of `tokenUrl` or `issuer`');
  }
  const clientId = textAt(bag, 'clientId', 'clientId')!;
  const clientSecret = textAt(bag, 'clientSecret', 'clientSecret', { secret: true })!;
  const clientAuthMethod = oneOfAt<ClientAuthMethod>(
    bag,
    'clientAuthMethod',
    'clientAuthMethod',
    ['client_secret_basic', 'client_secret_post'],
    d.clientAuthMethod,
  );
  const scopes = scopesAt(bag);
  let credential: string;
  if (bag.credential === undefined) {
    if (!CREDENTIAL.test(clientId)) {
      throw new InvalidConfigurationError(
        'credential',
        'defaults to clientId, which is not a valid metric label: give `credential` (1–128 characters of letters, digits and . _ : @ / -)',
      );
    }
    credential = clientId;
  } else {
    credential = textAt(bag, 'credential', 'credential', {
      pattern: CREDENTIAL,
      rule: '1–128 characters of letters, digits and . _ : @ / - (it is a metric label)',
    })!;
  }
  const store = objectWithMethodsAt<TokenStore>(
    bag,
    'store',
    'store',
    storeMethods(),
    'a token store from memoryTokenStore() or redisTokenStore()',
  );
  const dispatcher = objectWithMethodsAt<Dispatcher>(
    bag,
    'dispatcher',
    'dispatcher',
    ['dispatch'],
    'an undici Dispatcher (Agent, Pool, ProxyAgent, ...)',
  );
  const logError =
    functionAt<(message: string) => void>(bag, 'logError', 'logError') ??
    ((message: string) => console.error(message));

  const ms = (key: NumericOption, min: number, max: number) =>
    numberAt(bag, key, key, d[key], { min, max });
  const count = (key: NumericOption, min: number, max: number) =>
    numberAt(bag, key, key, d[key], { min, max, integer: true });

  const tokenEndpointTimeoutMs = ms('tokenEndpointTimeoutMs', 100, 120_000);
  const leaseMs = ms('leaseMs', 200, 300_000);
  if (leaseMs <= tokenEndpointTimeoutMs) {
    throw new InvalidConfigurationError(
      'leaseMs',
      `must exceed tokenEndpointTimeoutMs (${tokenEndpointTimeoutMs} ms), so a lease never lapses during a request`,
    );
  }
  const minSoftWindowMs = ms('minSoftWindowMs', 0, DAY_MS);
  const maxSoftWindowMs = ms('maxSoftWindowMs', 0, DAY_MS);
  if (maxSoftWindowMs < minSoftWindowMs) {
    throw new InvalidConfigurationError(
      'maxSoftWindowMs',
      `must be ≥ minSoftWindowMs (${minSoftWindowMs}), got ${maxSoftWindowMs}`,
    );
  }
  const backoffMinMs = ms('backoffMinMs', 1, 3_600_000);
  const backoffMaxMs = ms('backoffMaxMs', backoffMinMs, 3_600_000);
  const authCircuitCooldownMs = ms('authCircuitCooldownMs', 1, DAY_MS);

  return {
    tokenUrl,
    issuer,
    clientId,
    clientSecret,
    clientAuthMethod,
    scopes,
    audience: textAt(bag, 'audience', 'audience', { optional: true }),
    resource: absoluteUri(bag, 'resource', 'resource'),
    credential,
    store,
    dispatcher,
    defaultLifetimeMs: ms('defaultLifetimeMs', 1_000, DAY_MS),
    maxLifetimeMs: ms('maxLifetimeMs', 1_000, 366 * DAY_MS),
    tokenEndpointTimeoutMs,
    leaseMs,
    hardSkewMs: ms('hardSkewMs', 0, 3_600_000),
    hardSkewRatio: d.hardSkewRatio,
    softWindowRatio: numberAt(bag, 'softWindowRatio', 'softWindowRatio', d.softWindowRatio, {
      above: 0,
      max: 0.5,
    }),
    minSoftWindowMs,
    maxSoftWindowMs,
    backoffMinMs,
    backoffMaxMs,
    configurationErrorBackoffMs: ms('configurationErrorBackoffMs', 1, DAY_MS),
    storeBreakMs: ms('storeBreakMs', 10, 600_000),
    maxReauthorizations: count('maxReauthorizations', 0, 3),
    minTokenAgeMs: ms('minTokenAgeMs', 0, 3_600_000),
    authCircuitThreshold: count('authCircuitThreshold', 1, 1000),
    authCircuitWindowMs: ms('authCircuitWindowMs', 1, DAY_MS),
    authCircuitCooldownMs,
    authCircuitMaxCooldownMs: ms('authCircuitMaxCooldownMs', authCircuitCooldownMs, DAY_MS),
    logError,
  };
}

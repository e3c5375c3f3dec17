import type { Dispatcher } from 'undici';
import { InvalidConfigurationError } from '../errors.js';
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
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly resource: string | undefined;
  readonly scopes: readonly string[];
  readonly dispatcher: Dispatcher | undefined;
  readonly hardSkewRatio: number;
};

function httpUrl(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidConfigurationError(field, 'must be a URL string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidConfigurationError(field, 'is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidConfigurationError(field, 'must be an http:// or https:// URL');
  }
  if (url.username || url.password) {
    throw new InvalidConfigurationError(
      field,
      'must not carry credentials; use clientId and clientSecret',
    );
  }
  return value;
}

/** RFC 8707 §2: an absolute URI without a fragment. */
function absoluteUri(field: string, value: unknown): string {
  let ok = false;
  try {
    ok = typeof value === 'string' && new URL(value).hash === '' && !value.includes('#');
  } catch {
    ok = false;
  }
  if (!ok)
    throw new InvalidConfigurationError(
      field,
      'must be an absolute URI without a fragment (RFC 8707)',
    );
  return value as string;
}

function duration(field: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidConfigurationError(
      field,
      `must be a number of milliseconds in [${min}, ${max}], got ${String(value)}`,
    );
  }
  return value;
}

function integer(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidConfigurationError(
      field,
      `must be an integer in [${min}, ${max}], got ${String(value)}`,
    );
  }
  return value;
}

function text(field: string, value: unknown, optional: boolean): string | undefined {
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) {
    throw new InvalidConfigurationError(field, 'must be a non-empty string');
  }
  return value;
}

/** Validate once, at construction; messages name the field and never echo the secret. */
export function normalizeClientCredentials(
  options: ClientCredentialsOptions,
): NormalizedClientCredentials {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigurationError('options', 'clientCredentials() needs an options object');
  }
  const d = CLIENT_CREDENTIALS_DEFAULTS;
  if ((options.tokenUrl === undefined) === (options.issuer === undefined)) {
    throw new InvalidConfigurationError('tokenUrl', 'give exactly one of `tokenUrl` or `issuer`');
  }
  const tokenUrl =
    options.tokenUrl === undefined ? undefined : httpUrl('tokenUrl', options.tokenUrl);
  const issuer = options.issuer === undefined ? undefined : httpUrl('issuer', options.issuer);
  const clientId = text('clientId', options.clientId, false)!;
  const clientSecret = text('clientSecret', options.clientSecret, false)!;
  const clientAuthMethod = options.clientAuthMethod ?? d.clientAuthMethod;
  if (clientAuthMethod !== 'client_secret_basic' && clientAuthMethod !== 'client_secret_post') {
    throw new InvalidConfigurationError(
      'clientAuthMethod',
      'must be "client_secret_basic" or "client_secret_post"',
    );
  }
  const rawScope = options.scope ?? [];
  if (typeof rawScope !== 'string' && !Array.isArray(rawScope)) {
    throw new InvalidConfigurationError(
      'scope',
      'must be a space-separated string or a list of strings',
    );
  }
  const scopes = (typeof rawScope === 'string' ? rawScope.split(' ') : [...rawScope]).filter(
    (s) => s !== '',
  );
  for (const scope of scopes) {
    if (typeof scope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) {
      throw new InvalidConfigurationError(
        'scope',
        'scope tokens must be printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)',
      );
    }
  }
  const credential = text('credential', options.credential ?? clientId, false)!;
  if (!/^[\w.:@/-]{1,128}$/.test(credential)) {
    throw new InvalidConfigurationError(
      'credential',
      'must be 1–128 characters of letters, digits and . _ : @ / - (it is a metric label)',
    );
  }
  const tokenEndpointTimeoutMs = duration(
    'tokenEndpointTimeoutMs',
    options.tokenEndpointTimeoutMs ?? d.tokenEndpointTimeoutMs,
    100,
    120_000,
  );
  const leaseMs = duration('leaseMs', options.leaseMs ?? d.leaseMs, 200, 300_000);
  if (leaseMs <= tokenEndpointTimeoutMs) {
    throw new InvalidConfigurationError(
      'leaseMs',
      `must exceed tokenEndpointTimeoutMs (${tokenEndpointTimeoutMs} ms), so a lease never lapses during a request`,
    );
  }
  const defaultLifetimeMs = duration(
    'defaultLifetimeMs',
    options.defaultLifetimeMs ?? d.defaultLifetimeMs,
    1_000,
    86_400_000,
  );
  const maxLifetimeMs = duration(
    'maxLifetimeMs',
    options.maxLifetimeMs ?? d.maxLifetimeMs,
    1_000,
    366 * 86_400_000,
  );
  const minSoftWindowMs = duration(
    'minSoftWindowMs',
    options.minSoftWindowMs ?? d.minSoftWindowMs,
    0,
    86_400_000,
  );
  const maxSoftWindowMs = duration(
    'maxSoftWindowMs',
    options.maxSoftWindowMs ?? d.maxSoftWindowMs,
    0,
    86_400_000,
  );
  if (maxSoftWindowMs < minSoftWindowMs) {
    throw new InvalidConfigurationError('maxSoftWindowMs', 'must be at least minSoftWindowMs');
  }
  const softWindowRatio = options.softWindowRatio ?? d.softWindowRatio;
  if (typeof softWindowRatio !== 'number' || !(softWindowRatio > 0 && softWindowRatio <= 0.5)) {
    throw new InvalidConfigurationError(
      'softWindowRatio',
      `must be a number in (0, 0.5], got ${String(softWindowRatio)}`,
    );
  }
  const backoffMinMs = duration(
    'backoffMinMs',
    options.backoffMinMs ?? d.backoffMinMs,
    1,
    3_600_000,
  );
  const backoffMaxMs = duration(
    'backoffMaxMs',
    options.backoffMaxMs ?? d.backoffMaxMs,
    backoffMinMs,
    3_600_000,
  );
  const authCircuitCooldownMs = duration(
    'authCircuitCooldownMs',
    options.authCircuitCooldownMs ?? d.authCircuitCooldownMs,
    1,
    86_400_000,
  );
  const logError = options.logError ?? ((message: string) => console.error(message));
  if (typeof logError !== 'function')
    throw new InvalidConfigurationError('logError', 'must be a function');
  if (
    options.store !== undefined &&
    (typeof options.store !== 'object' || typeof options.store.read !== 'function')
  ) {
    throw new InvalidConfigurationError(
      'store',
      'must come from memoryTokenStore() or redisTokenStore()',
    );
  }
  return {
    tokenUrl,
    issuer,
    clientId,
    clientSecret,
    clientAuthMethod,
    scopes,
    audience: text('audience', options.audience, true),
    resource:
      options.resource === undefined ? undefined : absoluteUri('resource', options.resource),
    credential,
    dispatcher: options.dispatcher,
    defaultLifetimeMs,
    maxLifetimeMs,
    tokenEndpointTimeoutMs,
    leaseMs,
    hardSkewMs: duration('hardSkewMs', options.hardSkewMs ?? d.hardSkewMs, 0, 3_600_000),
    hardSkewRatio: d.hardSkewRatio,
    softWindowRatio,
    minSoftWindowMs,
    maxSoftWindowMs,
    backoffMinMs,
    backoffMaxMs,
    configurationErrorBackoffMs: duration(
      'configurationErrorBackoffMs',
      options.configurationErrorBackoffMs ?? d.configurationErrorBackoffMs,
      1,
      86_400_000,
    ),
    storeBreakMs: duration('storeBreakMs', options.storeBreakMs ?? d.storeBreakMs, 10, 600_000),
    maxReauthorizations: integer(
      'maxReauthorizations',
      options.maxReauthorizations ?? d.maxReauthorizations,
      0,
      3,
    ),
    minTokenAgeMs: duration(
      'minTokenAgeMs',
      options.minTokenAgeMs ?? d.minTokenAgeMs,
      0,
      3_600_000,
    ),
    authCircuitThreshold: integer(
      'authCircuitThreshold',
      options.authCircuitThreshold ?? d.authCircuitThreshold,
      1,
      1000,
    ),
    authCircuitWindowMs: duration(
      'authCircuitWindowMs',
      options.authCircuitWindowMs ?? d.authCircuitWindowMs,
      1,
      86_400_000,
    ),
    authCircuitCooldownMs,
    authCircuitMaxCooldownMs: duration(
      'authCircuitMaxCooldownMs',
      options.authCircuitMaxCooldownMs ?? d.authCircuitMaxCooldownMs,
      authCircuitCooldownMs,
      86_400_000,
    ),
    logError,
  };
}

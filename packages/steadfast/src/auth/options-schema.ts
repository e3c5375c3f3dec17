import { KeyObject } from 'node:crypto';
import type { Dispatcher } from 'undici';
import {
  customOption,
  type DefaultsOf,
  defaultsOf,
  describe,
  functionOption,
  numberOption,
  objectWithMethods,
  oneOfOption,
  optInSection,
  optionsObject,
  type Problem,
  parseOptions,
  type Resolved,
  requiredText,
  textOption,
} from '../config/schema.js';
import type { TokenSelector } from '../pipeline/types.js';
import type { AssertionKey } from './client-assertion.js';
import {
  type ClientCertificate,
  clientCertificateShapeProblem,
  type PresentedCertificate,
  readClientCertificate,
} from './client-certificate.js';
import {
  algorithmProblem,
  type ClientAssertionAlgorithm,
  type ClientSigningKey,
  defaultAlgorithm,
  publicKeyThumbprint,
  readPrivateKey,
} from './client-key.js';
import {
  type DpopConfig,
  dpopSchema,
  keySharingProblem,
  normalizeDpop,
} from './dpop/dpop-options.js';
import { memoryTokenStore } from './store/memory.js';
import type { TokenStore } from './store/types.js';

/**
 * The options of `clientCredentials`, each declared once: type, default, range and prose.
 * auth/options.ts (the documented `ClientCredentialsOptions`) is generated from it.
 */

const DAY_MS = 86_400_000;
/** RFC 6749 §3.3 scope-token: printable ASCII without space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const MAX_SCOPES = 256;
/** `credential` is a metric label. */
const CREDENTIAL = /^[\w.:@/-]{1,128}$/;
const CREDENTIAL_RULE = '1–128 characters of letters, digits and . _ : @ / -';

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

/**
 * An absolute http(s) URL without userinfo or fragment (and without a query unless
 * `query`). Messages never quote the URL: it could carry a password or a key.
 */
function httpUrlProblem(value: unknown, query: boolean): string | undefined {
  if (typeof value !== 'string') return `must be a URL string, got ${describe(value)}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a valid absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `must use http: or https:, got ${url.protocol}`;
  }
  if (url.username || url.password) return 'must not carry credentials (user:password@)';
  if (url.hash || value.includes('#')) return 'must not have a fragment (#...)';
  if (!query && (url.search || value.includes('?'))) return 'must not have a query (?...)';
  return undefined;
}

/** RFC 8707 §2: an absolute URI without a fragment. Never quoted back. */
function absoluteUriProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a string, got ${describe(value)}`;
  if (value.length === 0) return 'must not be empty';
  try {
    if (new URL(value).hash === '' && !value.includes('#')) return undefined;
  } catch {
    // not a URI
  }
  return 'must be an absolute URI without a fragment (RFC 8707)';
}

/** Scopes as a space-separated string or a list; a wrong list entry is named `scope[i]`. */
function scopeProblem(value: unknown): Problem {
  const list = Array.isArray(value);
  if (typeof value !== 'string' && !list) {
    return `must be a space-separated string or a list of strings, got ${describe(value)}`;
  }
  const tokens: unknown[] = list ? value : (value as string).split(' ');
  if (tokens.length > MAX_SCOPES) return `must have at most ${MAX_SCOPES} scopes`;
  for (const [i, token] of tokens.entries()) {
    const at = (message: string): Problem => (list ? [i, message] : message);
    if (typeof token !== 'string') return at(`must be a string, got ${describe(token)}`);
    // An empty string from a double space is skipped; an empty list entry is a mistake.
    if (token === '' && !list) continue;
    if (!SCOPE_TOKEN.test(token) || token.length > 1024) {
      return at(
        'scope tokens must be printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)',
      );
    }
  }
  return undefined;
}

/** In ms, from `min` to `max`. */
const ms = (defaultMs: number, min: number, max: number, doc: string) =>
  numberOption({ default: defaultMs, min, max, doc });

const SECRET_METHODS: readonly string[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
];

interface ClientAuthFields {
  readonly clientAuthMethod: string;
  readonly clientSecret?: string | undefined;
  readonly privateKey?: ClientSigningKey | undefined;
  readonly keyId?: string | undefined;
  readonly signingAlgorithm?: ClientAssertionAlgorithm | undefined;
  readonly assertionAudience: string;
  readonly issuer?: string | undefined;
}

/** The signing algorithm of a valid `private_key_jwt` configuration, or what is wrong. */
function privateKeyAlgorithm(o: ClientAuthFields): ClientAssertionAlgorithm | [string, string] {
  const key = readPrivateKey(o.privateKey);
  if (typeof key === 'string') return ['privateKey', key];
  const algorithm = o.signingAlgorithm ?? defaultAlgorithm(key);
  if (algorithm === undefined) {
    return ['privateKey', `is a ${key.asymmetricKeyType} key: use an RSA, EC P-256 or Ed25519 key`];
  }
  const problem = algorithmProblem(key, algorithm);
  if (problem !== undefined)
    return [o.signingAlgorithm ? 'signingAlgorithm' : 'privateKey', problem];
  return algorithm;
}

/** Which options each client authentication method needs, and which it does not use. */
const clientAuthChecks: readonly ((
  o: ClientAuthFields,
) => readonly [string, string] | undefined)[] = [
  (o) =>
    SECRET_METHODS.includes(o.clientAuthMethod) && o.clientSecret === undefined
      ? ['clientSecret', `is required with clientAuthMethod "${o.clientAuthMethod}"`]
      : undefined,
  (o) =>
    o.clientAuthMethod === 'private_key_jwt' && o.clientSecret !== undefined
      ? ['clientSecret', 'is not used with clientAuthMethod "private_key_jwt": leave it out']
      : undefined,
  (o) => {
    if (o.clientAuthMethod === 'private_key_jwt') {
      if (o.privateKey === undefined) {
        return ['privateKey', 'is required with clientAuthMethod "private_key_jwt"'];
      }
      const algorithm = privateKeyAlgorithm(o);
      return typeof algorithm === 'string' ? undefined : algorithm;
    }
    return o.privateKey !== undefined
      ? ['privateKey', 'is only used with clientAuthMethod "private_key_jwt"']
      : undefined;
  },
  (o) =>
    o.clientAuthMethod === 'client_secret_jwt' &&
    o.signingAlgorithm !== undefined &&
    o.signingAlgorithm !== 'HS256'
      ? ['signingAlgorithm', 'must be "HS256" with clientAuthMethod "client_secret_jwt"']
      : undefined,
  (o) => {
    if (o.clientAuthMethod === 'client_secret_jwt' || o.clientAuthMethod === 'private_key_jwt') {
      return o.assertionAudience === 'issuer' && o.issuer === undefined
        ? [
            'assertionAudience',
            '"issuer" needs the `issuer` option (give `issuer` instead of `tokenUrl`)',
          ]
        : undefined;
    }
    if (o.signingAlgorithm !== undefined) {
      return ['signingAlgorithm', 'is only used with client_secret_jwt and private_key_jwt'];
    }
    if (o.keyId !== undefined) return ['keyId', 'is only used with private_key_jwt'];
    return undefined;
  },
];

/** The methods that authenticate with the TLS client certificate (RFC 8705 §2). */
const TLS_METHODS: readonly string[] = ['tls_client_auth', 'self_signed_tls_client_auth'];

/** What the mTLS methods need, and the certificate checked (a `clientCertificate.*` field). */
const clientCertificateChecks: readonly ((o: {
  readonly clientAuthMethod: string;
  readonly clientSecret?: string | undefined;
  readonly clientCertificate?: ClientCertificate | undefined;
}) => readonly [string, string] | undefined)[] = [
  (o) => {
    if (!TLS_METHODS.includes(o.clientAuthMethod)) return undefined;
    if (o.clientCertificate === undefined) {
      return ['clientCertificate', `is required with clientAuthMethod "${o.clientAuthMethod}"`];
    }
    return o.clientSecret !== undefined
      ? ['clientSecret', `is not used with clientAuthMethod "${o.clientAuthMethod}": leave it out`]
      : undefined;
  },
  (o) => {
    if (o.clientCertificate === undefined) return undefined;
    const read = readClientCertificate(o.clientCertificate);
    return 'thumbprint' in read ? undefined : [`clientCertificate.${read[0]}`, read[1]];
  },
];

export const clientCredentialsSchema = optionsObject(
  'ClientCredentialsOptions',
  'Options of {@link clientCredentials}. Every duration is in milliseconds.',
  {
    tokenUrl: customOption<string>((value) => httpUrlProblem(value, true), {
      type: 'string',
      doc: 'The token endpoint. Give this or `issuer`.',
    }),
    // RFC 8414 §2: an issuer has no query or fragment; a token endpoint may have a query.
    issuer: customOption<string>((value) => httpUrlProblem(value, false), {
      type: 'string',
      doc: "The authorization server's issuer; the token endpoint is discovered from `/.well-known/oauth-authorization-server` (RFC 8414), then `/.well-known/openid-configuration`, on the first token request.",
    }),
    clientId: requiredText({
      doc: 'The client identifier registered with the authorization server.',
    }),
    clientSecret: textOption({
      secret: true,
      doc: 'Required with `client_secret_basic`, `client_secret_post` and `client_secret_jwt`; not used with `private_key_jwt`, `tls_client_auth` and `self_signed_tls_client_auth`. Sent to the token endpoint only (or used only to sign, with `client_secret_jwt`); never stored, logged or emitted.',
    }),
    clientAuthMethod: oneOfOption(
      [
        'client_secret_basic',
        'client_secret_post',
        'client_secret_jwt',
        'private_key_jwt',
        'tls_client_auth',
        'self_signed_tls_client_auth',
      ] as const,
      {
        default: 'client_secret_basic',
        type: 'ClientAuthMethod',
        doc: 'How the client authenticates to the token endpoint: the secret in a Basic header or in the form (RFC 6749 §2.3.1), a signed client assertion (RFC 7523 §2.2): HS256 with the secret (`client_secret_jwt`) or with `privateKey` (`private_key_jwt`), or the TLS client certificate `clientCertificate` (RFC 8705 §2): issued by a CA the server trusts (`tls_client_auth`) or registered with the server itself (`self_signed_tls_client_auth`).',
      },
    ),
    clientCertificate: customOption<ClientCertificate>(clientCertificateShapeProblem, {
      type: 'ClientCertificate',
      doc: "A TLS client certificate (RFC 8705): PEM `cert`, its `key` (PEM, or a private `KeyObject`; `passphrase` for an encrypted PEM), and optional `ca` certificates trusted in addition to the defaults. Required with `tls_client_auth` and `self_signed_tls_client_auth`, where it authenticates the client; with any other method it is optional, for servers that bind tokens to it (`cnf.x5t#S256`, RFC 8705 §3). Token requests present it through an undici Agent of their own (unless `dispatcher` is given: that one must present it); a client built with this authorization presents it on connections to the origins its token goes to (`baseUrl`'s and `authOrigins`) and to no other. The credential is named by the certificate's SHA-256 thumbprint: a rotated certificate gets its own token.",
    }),
    privateKey: customOption<ClientSigningKey>(
      (value) => {
        const key = readPrivateKey(value);
        return typeof key === 'string' ? key : undefined;
      },
      {
        type: 'ClientSigningKey',
        doc: "The private key of `private_key_jwt`: PEM (PKCS8, PKCS1, SEC1), a private JWK, or a node `KeyObject`. Used only to sign assertions; a credential is named by the public key's thumbprint (RFC 7638), never by private material.",
      },
    ),
    keyId: textOption({
      doc: 'The `kid` header of the assertion (`private_key_jwt`), for a server that holds several keys of the client.',
      defaultText: 'the `kid` of a JWK `privateKey`, else none',
    }),
    signingAlgorithm: oneOfOption(['HS256', 'RS256', 'PS256', 'ES256', 'EdDSA'] as const, {
      type: 'ClientAssertionAlgorithm',
      doc: 'How the assertion is signed; it must fit the key (`client_secret_jwt`: HS256 only).',
      defaultText:
        'HS256 with `client_secret_jwt`; from the key with `private_key_jwt` (RSA: RS256, RSA-PSS: PS256, EC P-256: ES256, Ed25519/Ed448: EdDSA)',
    }),
    assertionAudience: customOption<'token_endpoint' | 'issuer' | (string & {}), 'token_endpoint'>(
      (value) =>
        value === 'token_endpoint' || value === 'issuer'
          ? undefined
          : typeof value === 'string' && value.startsWith('http')
            ? httpUrlProblem(value, false)
            : `must be "token_endpoint", "issuer" or an absolute http(s) URL, got ${describe(value)}`,
      {
        type: "'token_endpoint' | 'issuer' | (string & {})",
        default: 'token_endpoint',
        doc: "The `aud` of the assertion: the token endpoint (RFC 7523), the issuer for servers that expect it (needs `issuer`), or the URL the server knows itself by, when the client reaches it by another name (a proxy, an internal host name): e.g. `'https://idp.example.com/oauth2/token'`.",
      },
    ),
    assertionLifetimeMs: ms(
      60_000, // 1 min
      5_000,
      600_000,
      'How long a client assertion is valid (`exp` − `iat`); each token request signs a new one.',
    ),
    dpop: optInSection(dpopSchema),
    scope: customOption<string | readonly string[]>(scopeProblem, {
      type: 'string | readonly string[]',
      doc: 'Scopes, as a space-separated string or a list.',
    }),
    audience: textOption({ doc: '`audience` form parameter (Auth0, Okta style).' }),
    resource: customOption<string>(absoluteUriProblem, {
      type: 'string',
      doc: '`resource` indicator (RFC 8707).',
    }),
    credential: textOption({
      pattern: CREDENTIAL,
      rule: `${CREDENTIAL_RULE} (it is a metric label)`,
      doc: 'Low-cardinality name for metrics, events and errors.',
      defaultText: '`clientId`',
    }),
    store: objectWithMethods<TokenStore>(storeMethods(), {
      type: 'TokenStore',
      what: 'a token store from memoryTokenStore() or redisTokenStore()',
      doc: 'Where tokens are shared.',
      defaultText: '{@link memoryTokenStore} (this process only)',
    }),
    dispatcher: objectWithMethods<Dispatcher>(['dispatch'], {
      type: 'Dispatcher',
      what: 'an undici Dispatcher (Agent, Pool, ProxyAgent, ...)',
      doc: 'undici dispatcher for the token endpoint (proxies, TLS options).',
      defaultText: "undici's global dispatcher",
    }),
    defaultLifetimeMs: ms(
      300_000, // 5 min
      1_000,
      DAY_MS,
      'Lifetime assumed when the response has no `expires_in`.',
    ),
    maxLifetimeMs: ms(
      7 * DAY_MS, // 7 days
      1_000,
      366 * DAY_MS,
      'Longer `expires_in` values are rejected as malformed.',
    ),
    tokenEndpointTimeoutMs: ms(10_000, 100, 120_000, 'Timeout of one token-endpoint request.'),
    leaseMs: ms(
      12_000,
      200,
      300_000,
      'Fleet-wide refresh lease; must exceed `tokenEndpointTimeoutMs`.',
    ),
    hardSkewMs: ms(
      30_000,
      0,
      3_600_000,
      'Never send a token closer than this to its expiry (capped at 10 % of the lifetime).',
    ),
    softWindowRatio: numberOption({
      default: 0.2,
      above: 0,
      max: 0.5,
      doc: 'Soft (refresh-ahead) window as a share of the lifetime, in (0, 0.5].',
    }),
    minSoftWindowMs: ms(
      60_000,
      0,
      DAY_MS,
      'Lower clamp of the soft window (never more than half the lifetime).',
    ),
    maxSoftWindowMs: ms(600_000, 0, DAY_MS, 'Upper clamp of the soft window.'),
    backoffMinMs: ms(
      1_000,
      1,
      3_600_000,
      'First backoff after a retryable token-endpoint failure; doubles per failure.',
    ),
    backoffMaxMs: ms(
      60_000,
      1,
      3_600_000,
      'Cap of that backoff (a longer `Retry-After` wins, up to 1 h).',
    ),
    configurationErrorBackoffMs: ms(
      300_000,
      1,
      DAY_MS,
      'Backoff after `invalid_client`, `invalid_scope`, `unauthorized_client`, ….',
    ),
    storeBreakMs: ms(
      5_000,
      10,
      600_000,
      'How long the store stays bypassed after a failure before it is probed again.',
    ),
    maxReauthorizations: numberOption({
      default: 1,
      min: 0,
      max: 3,
      integer: true,
      doc: 'Re-sends after a 401 per call, in [0, 3].',
    }),
    minTokenAgeMs: ms(
      30_000,
      0,
      3_600_000,
      'A re-sent call rejected with a token younger than this counts toward the auth circuit.',
    ),
    authCircuitThreshold: numberOption({
      default: 3,
      min: 1,
      max: 1000,
      integer: true,
      doc: 'Fresh-token rejections within `authCircuitWindowMs` that open the auth circuit.',
    }),
    authCircuitWindowMs: ms(60_000, 1, DAY_MS, 'Window in which the rejections are counted.'),
    authCircuitCooldownMs: ms(
      30_000,
      1,
      DAY_MS,
      'First cool-down of the auth circuit; doubles per re-open.',
    ),
    authCircuitMaxCooldownMs: ms(600_000, 1, DAY_MS, 'Cap of that cool-down.'),
    logError: functionOption<(message: string) => void>({
      type: '(message: string) => void',
      doc: 'Where the auth circuit writes its one error line.',
      defaultText: '`console.error`',
    }),
  },
  [
    (o) =>
      (o.tokenUrl === undefined) === (o.issuer === undefined)
        ? ['tokenUrl', 'give exactly one of `tokenUrl` or `issuer`']
        : undefined,
    ...clientAuthChecks,
    (o) => keySharingProblem(o.dpop, o.store),
    ...clientCertificateChecks,
    (o) =>
      o.credential === undefined && !CREDENTIAL.test(o.clientId)
        ? [
            'credential',
            `defaults to clientId, which is not a valid metric label: give \`credential\` (${CREDENTIAL_RULE})`,
          ]
        : undefined,
    (o) =>
      o.leaseMs <= o.tokenEndpointTimeoutMs
        ? [
            'leaseMs',
            `must exceed tokenEndpointTimeoutMs (${o.tokenEndpointTimeoutMs} ms), so a lease never lapses during a request`,
          ]
        : undefined,
    (o) =>
      o.maxSoftWindowMs < o.minSoftWindowMs
        ? [
            'maxSoftWindowMs',
            `must be ≥ minSoftWindowMs (${o.minSoftWindowMs}), got ${o.maxSoftWindowMs}`,
          ]
        : undefined,
    (o) =>
      o.backoffMaxMs < o.backoffMinMs
        ? ['backoffMaxMs', `must be ≥ backoffMinMs (${o.backoffMinMs}), got ${o.backoffMaxMs}`]
        : undefined,
    (o) =>
      o.authCircuitMaxCooldownMs < o.authCircuitCooldownMs
        ? [
            'authCircuitMaxCooldownMs',
            `must be ≥ authCircuitCooldownMs (${o.authCircuitCooldownMs}), got ${o.authCircuitMaxCooldownMs}`,
          ]
        : undefined,
  ],
);

/**
 * Another token of the same credential (a call's or a derived client's `token`): its own
 * scope set, resource indicator or audience. A field left out keeps the credential's value.
 */
export const tokenSchema = optionsObject(
  'TokenOptions',
  "A token of the client's credential other than its configured one: the scopes, resource (RFC 8707) or audience this call needs. Each distinct combination is a token of its own, cached and shared through the store under its own key; a 401 for one never evicts another. Fields left out keep the credential's.",
  {
    scope: customOption<string | readonly string[]>(scopeProblem, {
      type: 'string | readonly string[]',
      doc: "Scopes, as a space-separated string or a list; they replace the credential's `scope`.",
      defaultText: "the credential's `scope`",
    }),
    resource: customOption<string>(absoluteUriProblem, {
      type: 'string',
      doc: '`resource` indicator (RFC 8707) of the token.',
      defaultText: "the credential's `resource`",
    }),
    audience: textOption({
      doc: '`audience` form parameter of the token (Auth0, Okta style).',
      defaultText: "the credential's `audience`",
    }),
  },
);

/** A token selector as the re-authorization layer keys tokens by it: scopes split, sorted, unique. */
export function normalizeTokenSelector(given: Resolved<typeof tokenSchema>): TokenSelector {
  const { scope, resource, audience } = given;
  const scopes =
    scope === undefined
      ? undefined
      : [...new Set(typeof scope === 'string' ? scope.split(' ') : scope)]
          .filter((s) => s !== '')
          .sort();
  return Object.freeze({ scopes, resource, audience });
}

/** The defaults of `clientCredentials`, read off its schema, and the hard-skew cap. */
export const CLIENT_CREDENTIALS_DEFAULTS: DefaultsOf<typeof clientCredentialsSchema.entries> & {
  readonly hardSkewRatio: number;
} = Object.freeze({
  ...defaultsOf(clientCredentialsSchema),
  hardSkewRatio: 0.1, // the hard skew is at most 10 % of a token's lifetime
});

type Parsed = ReturnType<typeof parseClientCredentials>;
const parseClientCredentials = (input: unknown) => parseOptions(clientCredentialsSchema, input);

/** What the token manager is built from. */
export type NormalizedClientCredentials = Readonly<
  Omit<
    Parsed,
    'scope' | 'credential' | 'logError' | 'privateKey' | 'clientCertificate' | 'dpop'
  > & {
    /** DPoP (RFC 9449): the key and how the fleet shares it; `undefined` when off. */
    readonly dpop: DpopConfig | undefined;
    /** The signing key of a client assertion (`client_secret_jwt`, `private_key_jwt`). */
    readonly assertionKey: AssertionKey | undefined;
    /** RFC 7638 thumbprint of the public key (`private_key_jwt`): part of the credential key. */
    readonly keyThumbprint: string | undefined;
    /** `clientCertificate`, checked and ready to present (its thumbprint names the credential). */
    readonly certificate: PresentedCertificate | undefined;
    readonly scopes: readonly string[];
    readonly credential: string;
    readonly logError: (message: string) => void;
    readonly hardSkewRatio: number;
  }
>;

/**
 * Validate once, at construction, the way `createClient` does: unknown keys, types,
 * ranges and URLs fail with `InvalidConfigurationError` naming the field; `null` is never
 * read as "use the default". Messages never echo the secret.
 */
export function normalizeClientCredentials(input: unknown): NormalizedClientCredentials {
  const { scope, credential, logError, privateKey, clientCertificate, dpop, ...options } =
    parseClientCredentials(input);
  let assertionKey: AssertionKey | undefined;
  let keyThumbprint: string | undefined;
  if (options.clientAuthMethod === 'client_secret_jwt') {
    assertionKey = { algorithm: 'HS256', secret: options.clientSecret! };
  } else if (options.clientAuthMethod === 'private_key_jwt') {
    // The schema checked the key and the algorithm: both are usable here.
    const key = readPrivateKey(privateKey) as KeyObject;
    const algorithm = privateKeyAlgorithm({ ...options, privateKey }) as Exclude<
      ClientAssertionAlgorithm,
      'HS256'
    >;
    const jwkKeyId =
      privateKey !== null && typeof privateKey === 'object' && !(privateKey instanceof KeyObject)
        ? (privateKey as { kid?: unknown }).kid
        : undefined;
    const keyId = options.keyId ?? (typeof jwkKeyId === 'string' ? jwkKeyId : undefined);
    assertionKey = { algorithm, key, keyId };
    keyThumbprint = publicKeyThumbprint(key);
  }
  const tokens = scope === undefined ? [] : typeof scope === 'string' ? scope.split(' ') : scope;
  return {
    ...options,
    scopes: tokens.filter((s) => s !== ''),
    credential: credential ?? options.clientId,
    logError: logError ?? ((message: string) => console.error(message)),
    hardSkewRatio: CLIENT_CREDENTIALS_DEFAULTS.hardSkewRatio,
    assertionKey,
    keyThumbprint,
    dpop: normalizeDpop(dpop, options.store),
    // The schema checked it: it reads.
    certificate:
      clientCertificate === undefined
        ? undefined
        : (readClientCertificate(clientCertificate) as PresentedCertificate),
  };
}

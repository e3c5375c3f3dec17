import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata, type Configuration, errors } from 'oidc-provider';
import { tokenFingerprint } from 'steadfast';
import { MIN_ADMIN_TOKEN_LENGTH } from './bearer-token.js';
import { IDP_ADMIN_PREFIX, idpAdminHandler } from './idp-admin.js';
import { IdpStore } from './idp-store.js';

/** One OAuth2 client the IdP knows. */
export interface IdpClientConfig {
  readonly clientId: string;
  /** Required, except for a `private_key_jwt` client (which gives `jwks`). */
  readonly clientSecret?: string;
  /**
   * How the client authenticates at the token endpoint. Default: `client_secret_basic`
   * (`client_secret_post` is accepted too).
   */
  readonly tokenEndpointAuthMethod?:
    | 'client_secret_basic'
    | 'client_secret_jwt'
    | 'private_key_jwt';
  /** The client's public keys (`private_key_jwt`). */
  readonly jwks?: { readonly keys: readonly object[] };
  /** Scopes the client may request. Default: none (tokens without scope). */
  readonly scopes?: readonly string[];
  /**
   * May this client revoke tokens issued to other clients? The downstream API uses this to
   * revoke the token it last saw. Default: false (a client revokes only its own tokens).
   */
  readonly mayRevokeAnyToken?: boolean;
}

/** Options of {@link startIdp}. */
export interface IdpOptions {
  /** Interface to listen on. Default: `127.0.0.1`. */
  readonly host?: string;
  /** Port to listen on; 0 picks a free port. Default: 0. */
  readonly port?: number;
  /**
   * The public issuer URL, when clients reach the IdP by another name than `host:port`
   * (e.g. `http://idp:8081` in compose). Default: `http://<host>:<port>`.
   */
  readonly issuer?: string;
  /** Registered clients (client credentials grant, `client_secret_basic` or `_post`). */
  readonly clients: readonly IdpClientConfig[];
  /** Access token lifetime, in seconds. Default: 300 (5 min). */
  readonly accessTokenTtlSeconds?: number;
  /**
   * Resource indicator (RFC 8707) the tokens are issued for; it becomes the `aud` of every
   * token, requested or not. Default: none (tokens carry no audience).
   */
  readonly audience?: string;
  /**
   * Bearer token of the admin route `GET /admin/stats` (the {@link IdpStats} as JSON), at
   * least 16 characters. Default: none (no admin route; `/admin/*` is not found).
   */
  readonly adminToken?: string;
  /** Where to write one line per token issued, revoked or refused. Default: nowhere. */
  readonly log?: (line: string) => void;
}

/** Counters of what the IdP served since it started. */
export interface IdpStats {
  /** Requests that reached the token endpoint (any outcome). */
  readonly tokenRequests: number;
  /** Access tokens issued. */
  readonly tokensIssued: number;
  /** Token requests refused (wrong secret, bad scope, ...). */
  readonly tokenErrors: number;
  readonly introspectionRequests: number;
  readonly revocationRequests: number;
  /** Tokens revoked, through the endpoint or {@link Idp.revoke}/{@link Idp.revokeAll}. */
  readonly tokensRevoked: number;
  /** Access tokens currently valid (issued, unexpired, unrevoked). */
  readonly activeTokens: number;
}

/** A running IdP. */
export interface Idp {
  /** Where it listens, e.g. `http://127.0.0.1:43121`; the endpoints below are under it. */
  readonly url: string;
  /** The issuer: {@link IdpOptions.issuer}, or `url`. */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly revocationEndpoint: string;
  /** `GET` it with `Authorization: Bearer <adminToken>`; only when {@link IdpOptions.adminToken} is set. */
  readonly statsEndpoint?: string;
  stats(): IdpStats;
  /** Revoke one access token. Resolves true when it was active. */
  revoke(accessToken: string): Promise<boolean>;
  /** Revoke every active access token. Resolves how many there were. */
  revokeAll(): Promise<number>;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

const ACCESS_TOKEN_MODEL = 'ClientCredentials';
const TOKEN_PATH = '/token';
const INTROSPECTION_PATH = '/token/introspection';
const REVOCATION_PATH = '/token/revocation';
const NO_SCOPE = 'steadfast.none';
const DEFAULT_TTL_SECONDS = 300; // 5 min

/**
 * Start a real OAuth2 authorization server (oidc-provider) for the demo and for tests:
 * client credentials grant, token introspection (RFC 7662) and revocation (RFC 7009),
 * opaque access tokens. Any confidential client may introspect; revocation is limited to
 * the token's own client unless a client has `mayRevokeAnyToken`. With an `adminToken`,
 * `GET /admin/stats` (behind that bearer token) answers {@link Idp.stats} over HTTP.
 *
 * @example
 * const idp = await startIdp({ clients: [{ clientId: 'worker', clientSecret: 's3cret', scopes: ['weather.read'] }] });
 * // POST idp.tokenEndpoint with grant_type=client_credentials ...
 * await idp.close();
 */
export async function startIdp(options: IdpOptions): Promise<Idp> {
  const host = options.host ?? '127.0.0.1';
  const ttlSeconds = options.accessTokenTtlSeconds ?? DEFAULT_TTL_SECONDS;
  validateOptions(options, ttlSeconds);
  const log = options.log ?? (() => {});
  const store = new IdpStore();
  const counters = {
    tokenRequests: 0,
    tokensIssued: 0,
    tokenErrors: 0,
    introspectionRequests: 0,
    revocationRequests: 0,
    tokensRevoked: 0,
  };

  const stats = (): IdpStats => ({
    ...counters,
    activeTokens: store.liveIds(ACCESS_TOKEN_MODEL).length,
  });
  const admin = options.adminToken ? idpAdminHandler(options.adminToken, stats) : undefined;

  // The issuer must name the real port, known only after listen(): start the server first.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (admin?.(req, res)) return;
    countRequest(req, counters);
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const listeningOn = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const issuer = options.issuer?.replace(/\/+$/, '') ?? listeningOn;

  const provider = new Provider(issuer, providerConfiguration(options, ttlSeconds, store));
  provider.on('grant.success', (ctx) => {
    counters.tokensIssued += 1;
    const body = ctx.body as { access_token?: string } | undefined;
    const fingerprint = body?.access_token ? tokenFingerprint(body.access_token) : '?';
    log(`idp: issued token ${fingerprint} to ${ctx.oidc.client?.clientId ?? '?'}`);
  });
  provider.on('grant.error', (ctx, error) => {
    counters.tokenErrors += 1;
    log(`idp: refused token request from ${ctx.oidc.client?.clientId ?? '?'}: ${error.message}`);
  });
  provider.on('client_credentials.destroyed', (token) => {
    counters.tokensRevoked += 1;
    log(`idp: revoked token ${tokenFingerprint(token.jti)} of ${token.clientId ?? '?'}`);
  });
  handler = provider.callback();

  const revokeOne = async (value: string): Promise<boolean> => {
    const token = await provider.ClientCredentials.find(value);
    if (!token) return false;
    await token.destroy();
    return true;
  };

  return {
    url: listeningOn,
    issuer,
    tokenEndpoint: `${listeningOn}${TOKEN_PATH}`,
    introspectionEndpoint: `${listeningOn}${INTROSPECTION_PATH}`,
    revocationEndpoint: `${listeningOn}${REVOCATION_PATH}`,
    ...(admin ? { statsEndpoint: `${listeningOn}${IDP_ADMIN_PREFIX}/stats` } : {}),
    stats,
    revoke: revokeOne,
    async revokeAll() {
      let revoked = 0;
      for (const id of store.liveIds(ACCESS_TOKEN_MODEL)) {
        if (await revokeOne(id)) revoked += 1;
      }
      return revoked;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function countRequest(req: IncomingMessage, counters: Record<string, number>): void {
  if (req.method !== 'POST') return;
  const path = (req.url ?? '').split('?')[0];
  if (path === TOKEN_PATH) counters.tokenRequests = (counters.tokenRequests ?? 0) + 1;
  else if (path === INTROSPECTION_PATH)
    counters.introspectionRequests = (counters.introspectionRequests ?? 0) + 1;
  else if (path === REVOCATION_PATH)
    counters.revocationRequests = (counters.revocationRequests ?? 0) + 1;
}

function validateOptions(options: IdpOptions, ttlSeconds: number): void {
  if (options.clients.length === 0) throw new TypeError('startIdp: `clients` must not be empty');
  const ids = new Set<string>();
  for (const client of options.clients) {
    if (!client.clientId) throw new TypeError('startIdp: every client needs a `clientId`');
    if (
      client.tokenEndpointAuthMethod === 'private_key_jwt' ? !client.jwks : !client.clientSecret
    ) {
      throw new TypeError(
        `startIdp: client "${client.clientId}" needs a \`${client.tokenEndpointAuthMethod === 'private_key_jwt' ? 'jwks' : 'clientSecret'}\``,
      );
    }
    if (ids.has(client.clientId)) {
      throw new TypeError(`startIdp: client "${client.clientId}" is listed twice`);
    }
    ids.add(client.clientId);
  }
  if (
    options.adminToken !== undefined &&
    (typeof options.adminToken !== 'string' || options.adminToken.length < MIN_ADMIN_TOKEN_LENGTH)
  ) {
    throw new TypeError(
      `startIdp: \`adminToken\` must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`,
    );
  }
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 86_400) {
    throw new RangeError(
      `startIdp: \`accessTokenTtlSeconds\` must be an integer in [1, 86400], got ${ttlSeconds}`,
    );
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`startIdp: \`port\` must be an integer in [0, 65535], got ${port}`);
  }
  if (options.issuer !== undefined && !/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(options.issuer)) {
    throw new TypeError(
      `startIdp: \`issuer\` must be an http(s) URL without query or fragment, got "${options.issuer}"`,
    );
  }
}

function providerConfiguration(
  options: IdpOptions,
  ttlSeconds: number,
  store: IdpStore,
): Configuration {
  const allScopes = [...new Set(options.clients.flatMap((client) => client.scopes ?? []))];
  const revokers = new Set(
    options.clients.filter((client) => client.mayRevokeAnyToken).map((client) => client.clientId),
  );
  const clients: ClientMetadata[] = options.clients.map((client) => ({
    client_id: client.clientId,
    ...(client.clientSecret === undefined ? {} : { client_secret: client.clientSecret }),
    ...(client.jwks === undefined ? {} : { jwks: client.jwks as never }),
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    // basic: either basic or post is accepted at runtime; oidc-provider treats them alike.
    token_endpoint_auth_method: client.tokenEndpointAuthMethod ?? 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
    // An empty allow-list is invalid metadata; a client without scopes gets a scope no one
    // can request, so every real scope is refused.
    scope: client.scopes?.length ? client.scopes.join(' ') : NO_SCOPE,
  }));
  const { audience } = options;
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    format: 'jwk',
  });

  return {
    adapter: store.adapterFactory,
    clients,
    scopes: [...allScopes, NO_SCOPE],
    claims: {},
    jwks: { keys: [{ ...signingKey, use: 'sig', alg: 'ES256', kid: 'idp-signing' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    ttl: { ClientCredentials: ttlSeconds },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Resource servers introspect tokens issued to other clients: any authenticated
        // confidential client may ask.
        allowedPolicy: async (_ctx, client) => client.clientAuthMethod !== 'none',
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId === client.clientId || revokers.has(client.clientId)) return true;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => audience,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (audience === undefined || resourceIndicator !== audience) {
            throw new errors.InvalidTarget();
          }
          return {
            audience,
            scope: allScopes.join(' '),
            accessTokenTTL: ttlSeconds,
            accessTokenFormat: 'opaque',
          };
        },
      },
    },
  };
}

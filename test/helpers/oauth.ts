/**
 * The OAuth2 side of the token tests, all real and on loopback:
 * - the IdP of `src/apps/idp.ts` (oidc-provider: client credentials, introspection, revocation);
 * - a fault gate in front of its token endpoint: it forwards to the IdP untouched, or answers
 *   503 + Retry-After, or rewrites the IdP's real answer into a malformed one. It counts every
 *   token request that reaches it, so "token-endpoint requests" is measured at the server side;
 * - a resource server that validates each bearer token by introspection at the IdP and answers
 *   401 with `WWW-Authenticate` when the token is not active; paths under `/admin` need the
 *   scope `admin.write`, which the worker never gets (401 `insufficient_scope`).
 *
 * @example
 * const stack = await startOAuthStack({ ttlSeconds: 60 });
 * // clientCredentials({ tokenUrl: stack.tokenUrl, clientId: stack.client.clientId, clientSecret: stack.client.clientSecret })
 * // GET `${stack.apiUrl}/data` with the bearer token
 * stack.setFault({ kind: 'status', status: 503, retryAfterSeconds: 2 });
 * await stack.close();
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { request } from 'undici';
import { type Idp, startIdp } from '../../src/apps/idp.js';
import { listen, readBody } from './loopback.js';

/** What the fault gate does with the next token requests. */
export type TokenFault =
  | { readonly kind: 'none' }
  /** Answer this status (and `Retry-After`) without asking the IdP. */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly retryAfterSeconds?: number;
      readonly body?: string;
    }
  /** Hold the request this long, then forward it to the IdP (a slow token endpoint). */
  | { readonly kind: 'delay'; readonly delayMs: number }
  /** Ask the IdP, then send this body (status 200) instead of its answer. */
  | { readonly kind: 'raw'; readonly body: string; readonly contentType?: string }
  /** Ask the IdP, then change its JSON answer (e.g. drop `access_token`). */
  | { readonly kind: 'rewrite'; readonly rewrite: (json: Record<string, unknown>) => unknown };

export interface OAuthStackOptions {
  /** Access token lifetime at the IdP, in seconds. Default: 300. */
  readonly ttlSeconds?: number;
  /** Delay before the resource server answers (ms), to keep calls in flight. Default: 0. */
  readonly apiDelayMs?: number;
}

export interface OAuthStack {
  readonly idp: Idp;
  /** The worker client the SDK uses (secret included: tests check it never leaks). */
  readonly client: {
    readonly clientId: string;
    readonly clientSecret: string;
    readonly scope: string;
  };
  /**
   * A second worker that authenticates with `private_key_jwt` (RFC 7523), same scope: its
   * key pair is made when the stack starts; the IdP knows the public key (kid `fleet-key`).
   */
  readonly keyClient: { readonly clientId: string; readonly privateKeyPem: string };
  /** The token endpoint behind the fault gate: point the SDK here. */
  readonly tokenUrl: string;
  /** Base URL of the resource server. */
  readonly apiUrl: string;
  /** Token requests that reached the fault gate (whatever the answer). */
  tokenRequests(): number;
  /** Every access token the IdP issued through the gate (to check that none leaks). */
  issuedTokens(): readonly string[];
  /** Requests the resource server answered with 200 / 401. */
  apiStats(): { ok: number; unauthorized: number };
  setFault(fault: TokenFault): void;
  close(): Promise<void>;
}

const WORKER = {
  clientId: 'fleet-worker',
  clientSecret: 'Sup3r-S3cret-Value-9f8e7d',
  scope: 'data.read',
};
const ADMIN_SCOPE = 'admin.write';
const API = { clientId: 'data-api', clientSecret: 'api-secret-0a1b2c', mayRevokeAnyToken: true };

/** Start the IdP, the fault gate and the resource server. */
export async function startOAuthStack(options: OAuthStackOptions = {}): Promise<OAuthStack> {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyWorker = {
    clientId: 'fleet-key-worker',
    privateKeyPem: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
  const idp = await startIdp({
    clients: [
      { ...WORKER, scopes: [WORKER.scope, 'other.scope'] },
      {
        clientId: keyWorker.clientId,
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: {
          keys: [{ ...key.publicKey.export({ format: 'jwk' }), kid: 'fleet-key', alg: 'ES256' }],
        },
        scopes: [WORKER.scope],
      },
      API,
    ],
    accessTokenTtlSeconds: options.ttlSeconds ?? 300,
  });
  let fault: TokenFault = { kind: 'none' };
  let tokenRequests = 0;
  const issued: string[] = [];
  const api = { ok: 0, unauthorized: 0 };

  const gate = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    tokenRequests += 1;
    const current = fault;
    if (current.kind === 'status') {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (current.retryAfterSeconds !== undefined)
        headers['retry-after'] = String(current.retryAfterSeconds);
      res
        .writeHead(current.status, headers)
        .end(current.body ?? '{"error":"temporarily_unavailable"}');
      return;
    }
    if (current.kind === 'delay') {
      // unref: a request held past the end of a test must not keep the process alive
      await new Promise((r) => setTimeout(r, current.delayMs).unref());
    }
    if (res.destroyed) return; // the client gave up (or died) meanwhile
    const upstream = await request(idp.tokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded',
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      },
      body,
    });
    const text = await upstream.body.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (typeof json?.access_token === 'string') issued.push(json.access_token);
    if (current.kind === 'raw') {
      res.writeHead(200, { 'content-type': current.contentType ?? 'text/html' }).end(current.body);
      return;
    }
    if (current.kind === 'rewrite' && json && upstream.statusCode === 200) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(current.rewrite({ ...json })));
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const challenge = upstream.headers['www-authenticate'];
    if (typeof challenge === 'string') headers['www-authenticate'] = challenge;
    res.writeHead(upstream.statusCode, headers).end(text);
  });

  const basic = `Basic ${Buffer.from(`${API.clientId}:${API.clientSecret}`).toString('base64')}`;
  const resource = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    await readBody(req);
    const header = req.headers.authorization ?? '';
    const match = /^Bearer ([\x21-\x7e]+)$/.exec(header);
    let active = false;
    let scope = '';
    if (match) {
      const answer = await request(idp.introspectionEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: new URLSearchParams({ token: match[1]! }).toString(),
      });
      const result = (await answer.body.json()) as { active?: boolean; scope?: string };
      active = result.active === true;
      scope = result.scope ?? '';
    }
    if (options.apiDelayMs) await new Promise((r) => setTimeout(r, options.apiDelayMs));
    if (!active) {
      api.unauthorized += 1;
      // Two challenges in one header, as RFC 9110 allows: the SDK must find the Bearer one.
      const error = match
        ? ', error="invalid_token", error_description="The access token expired, was revoked, or is malformed"'
        : '';
      res
        .writeHead(401, {
          'www-authenticate': `Basic realm="legacy", Bearer realm="data-api"${error}`,
        })
        .end();
      return;
    }
    if ((req.url ?? '').startsWith('/admin') && !scope.split(' ').includes(ADMIN_SCOPE)) {
      api.unauthorized += 1;
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="data-api", error="insufficient_scope", scope="${ADMIN_SCOPE}"`,
        })
        .end();
      return;
    }
    api.ok += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });

  const gateUrl = await listen(gate);
  const apiUrl = await listen(resource);
  return {
    idp,
    client: WORKER,
    keyClient: keyWorker,
    tokenUrl: `${gateUrl}/token`,
    apiUrl,
    tokenRequests: () => tokenRequests,
    issuedTokens: () => [...issued],
    apiStats: () => ({ ...api }),
    setFault(next) {
      fault = next;
    },
    async close() {
      for (const server of [gate, resource]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await idp.close();
    },
  };
}

/**
 * A second, minimal oidc-provider whose only client authenticates with
 * `client_secret_post` (the IdP of src/apps registers `client_secret_basic` clients only).
 */
export async function startPostIdp(): Promise<{
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly client: { readonly clientId: string; readonly clientSecret: string };
  tokenRequests(): number;
  /** Per token request: did it carry an `Authorization` header (basic) or not (post)? */
  authStyles(): readonly ('basic' | 'post')[];
  close(): Promise<void>;
}> {
  const { default: Provider } = await import('oidc-provider');
  const client = { clientId: 'post-client', clientSecret: 'post-secret-5e6f7a8b' };
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let tokenRequests = 0;
  const styles: ('basic' | 'post')[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/token') {
      tokenRequests += 1;
      styles.push(req.headers.authorization ? 'basic' : 'post');
    }
    handler?.(req, res);
  });
  const issuer = await listen(server);
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
        scope: 'data.read',
      },
    ],
    scopes: ['data.read'],
    features: { devInteractions: { enabled: false }, clientCredentials: { enabled: true } },
  });
  handler = provider.callback();
  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    client,
    tokenRequests: () => tokenRequests,
    authStyles: () => [...styles],
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

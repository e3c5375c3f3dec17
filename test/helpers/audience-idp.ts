/**
 * One credential, two APIs: an oidc-provider in-process that issues client-credentials
 * tokens per resource indicator (RFC 8707) — `ORDERS` (scopes `orders.read`,
 * `orders.write`) and `BILLING` (`billing.read`) — and one loopback resource server per API
 * that validates each bearer token by introspection at the IdP, as a real one would: the
 * token must be active, its `aud` must be that API and its scope must hold what the path
 * needs (`/write` needs `orders.write`: 401 `insufficient_scope` otherwise).
 *
 * Claims challenges (continuous access evaluation, as Microsoft Entra sends them): after
 * `demandClaims(json)` an API accepts only tokens requested with exactly those claims (the
 * front of the token endpoint records the `claims` parameter of the request each token was
 * issued for, like an IdP that puts them in the token) and answers others with
 * `401 WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64 json>"`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { request } from 'undici';
import { listen, readBody, relayToProvider } from './loopback.js';

export const ORDERS = 'https://orders.api.test/';
export const BILLING = 'https://billing.api.test/';
const SCOPES: Record<string, string> = {
  [ORDERS]: 'orders.read orders.write',
  [BILLING]: 'billing.read',
};

export interface TokenRequestSeen {
  readonly resource: string | undefined;
  readonly scope: string | undefined;
  readonly claims: string | undefined;
  readonly status: number;
}

export interface AudienceIdp {
  readonly tokenEndpoint: string;
  readonly client: { readonly clientId: string; readonly clientSecret: string };
  /** Base URL of the orders API and of the billing API. */
  readonly ordersUrl: string;
  readonly billingUrl: string;
  /** Every token request, in order. */
  tokenRequests(): readonly TokenRequestSeen[];
  /** From now on the APIs accept only tokens requested with these claims. */
  demandClaims(claims: string): void;
  /** Revoke an access token at the IdP (RFC 7009), as an administrator would. */
  revoke(token: string): Promise<void>;
  /** While true, both APIs answer 503 to every request (an outage). */
  failing: boolean;
  /** Requests each API answered, by status. */
  apiStatuses(): { orders: Record<number, number>; billing: Record<number, number> };
  close(): Promise<void>;
}

const WORKER = { clientId: 'audience-worker', clientSecret: 'aud-secret-5e6f7a8b' };
const INTROSPECTOR = { clientId: 'api-introspector', clientSecret: 'api-secret-9c0d1e2f' };

/** The same JSON value, whatever the spacing and key order of the two texts. */
function sameJson(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const canonical = (value: unknown): unknown =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(
          Object.entries(value)
            .sort(([x], [y]) => (x < y ? -1 : 1))
            .map(([k, v]) => [k, canonical(v)]),
        )
      : value;
  try {
    return JSON.stringify(canonical(JSON.parse(a))) === JSON.stringify(canonical(JSON.parse(b)));
  } catch {
    return false;
  }
}

export async function startAudienceIdp(): Promise<AudienceIdp> {
  const { default: Provider, errors } = await import('oidc-provider');
  const seen: TokenRequestSeen[] = [];
  /** The `claims` of the request each access token was issued for. */
  const claimsOf = new Map<string, string | undefined>();
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/token') {
      handler?.(req, res);
      return;
    }
    const body = await readBody(req);
    const form = new URLSearchParams(body.toString());
    const claims = form.get('claims') ?? undefined;
    // What the provider answers says which token this request was given.
    relayToProvider(req, res, body, handler, (text, status) => {
      try {
        const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
        if (typeof token === 'string') claimsOf.set(token, claims);
      } catch {
        // an error answer
      }
      seen.push({
        resource: form.get('resource') ?? undefined,
        scope: form.get('scope') ?? undefined,
        claims,
        status,
      });
    });
  });
  const issuer = await listen(server);
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: WORKER.clientId,
        client_secret: WORKER.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: Object.values(SCOPES).join(' '),
      },
      {
        client_id: INTROSPECTOR.clientId,
        client_secret: INTROSPECTOR.clientSecret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    scopes: Object.values(SCOPES).join(' ').split(' '),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true, allowedPolicy: async () => true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => ORDERS,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          const scope = SCOPES[resource];
          if (scope === undefined) throw new errors.InvalidTarget();
          return { audience: resource, scope, accessTokenTTL: 300, accessTokenFormat: 'opaque' };
        },
      },
    },
  } as never);
  handler = provider.callback();

  let demanded: string | undefined;
  const statuses = { orders: {} as Record<number, number>, billing: {} as Record<number, number> };
  const basic = `Basic ${Buffer.from(`${INTROSPECTOR.clientId}:${INTROSPECTOR.clientSecret}`).toString('base64')}`;
  const resourceServer = (audience: string, counts: Record<number, number>) =>
    createServer(async (req, res) => {
      await readBody(req);
      const answer = (status: number, headers: Record<string, string> = {}) => {
        counts[status] = (counts[status] ?? 0) + 1;
        // What the token was granted, so a test sees which token an answer was for.
        res.writeHead(status, headers).end(status === 200 ? JSON.stringify({ scope }) : '');
      };
      let scope: string | undefined;
      if (idp.failing) return answer(503);
      const token = /^Bearer ([\x21-\x7e]+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (token === undefined) return answer(401, { 'www-authenticate': 'Bearer' });
      const introspected = await request(`${issuer}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: new URLSearchParams({ token }).toString(),
      });
      const info = (await introspected.body.json()) as {
        active?: boolean;
        aud?: string | string[];
        scope?: string;
      };
      const audiences = Array.isArray(info.aud) ? info.aud : [info.aud];
      if (info.active !== true || !audiences.includes(audience)) {
        return answer(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      if (demanded !== undefined && !sameJson(claimsOf.get(token), demanded)) {
        const claims = Buffer.from(demanded).toString('base64');
        return answer(401, {
          'www-authenticate': `Bearer realm="api", error="insufficient_claims", claims="${claims}"`,
        });
      }
      scope = info.scope;
      const scopes = (info.scope ?? '').split(' ');
      if ((req.url ?? '').startsWith('/write') && !scopes.includes('orders.write')) {
        return answer(401, {
          'www-authenticate': 'Bearer error="insufficient_scope", scope="orders.write"',
        });
      }
      answer(200, { 'content-type': 'application/json' });
    });
  const orders = resourceServer(ORDERS, statuses.orders);
  const billing = resourceServer(BILLING, statuses.billing);
  const ordersUrl = await listen(orders);
  const billingUrl = await listen(billing);

  const idp: AudienceIdp = {
    failing: false,
    tokenEndpoint: `${issuer}/token`,
    client: WORKER,
    ordersUrl,
    billingUrl,
    tokenRequests: () => [...seen],
    demandClaims(claims: string) {
      demanded = claims;
    },
    async revoke(token: string) {
      const answer = await request(`${issuer}/token/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      });
      await answer.body.dump();
      if (answer.statusCode !== 200) throw new Error(`revocation answered ${answer.statusCode}`);
    },
    apiStatuses: () => ({ orders: { ...statuses.orders }, billing: { ...statuses.billing } }),
    async close() {
      for (const s of [server, orders, billing]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    },
  };
  return idp;
}

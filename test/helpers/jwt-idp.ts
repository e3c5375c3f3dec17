/**
 * An oidc-provider in-process whose worker client authenticates with a client assertion
 * (`client_secret_jwt` or `private_key_jwt`, RFC 7523 §2.2), and a loopback resource server
 * that validates each bearer token by introspection at it (as a real one would, with its
 * own `client_secret_basic` credentials). Everything on 127.0.0.1; the test gives the
 * client's secret or public JWKS per case.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { request } from 'undici';
import { listen, readBody, relayToProvider } from './loopback.js';

export interface JwtIdpOptions {
  readonly method: 'client_secret_jwt' | 'private_key_jwt';
  /** `client_secret_jwt`: the secret the assertion is signed with. */
  readonly clientSecret?: string;
  /** `private_key_jwt`: the client's public keys. */
  readonly jwks?: { readonly keys: readonly object[] };
}

export interface JwtIdp {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  /** A resource that answers 200 to an active token, 401 otherwise. */
  readonly apiUrl: string;
  tokenRequests(): number;
  /** The `client_assertion` of each token request, in order (to check jti and exp). */
  assertions(): readonly string[];
  /** The raw bodies of the token endpoint's answers (what the server said back). */
  answers(): readonly string[];
  close(): Promise<void>;
}

const API = { clientId: 'jwt-api', clientSecret: 'api-secret-3c4d5e6f' };

export async function startJwtIdp(options: JwtIdpOptions): Promise<JwtIdp> {
  const { default: Provider } = await import('oidc-provider');
  const clientId = `${options.method.replace(/_/g, '-')}-worker`;
  const assertions: string[] = [];
  const answers: string[] = [];
  let tokenRequests = 0;
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer(async (req, res) => {
    if (req.method === 'POST' && req.url === '/token') {
      tokenRequests += 1;
      const body = await readBody(req);
      const assertion = new URLSearchParams(body.toString()).get('client_assertion');
      if (assertion !== null) assertions.push(assertion);
      // Keep what the provider answers.
      relayToProvider(req, res, body, handler, (text) => answers.push(text));
      return;
    }
    handler?.(req, res);
  });
  const issuer = await listen(server);
  const worker = {
    client_id: clientId,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: options.method,
    scope: 'data.read',
    ...(options.method === 'client_secret_jwt'
      ? { client_secret: options.clientSecret }
      : { jwks: options.jwks }),
  };
  const provider = new Provider(issuer, {
    clients: [
      worker,
      {
        client_id: API.clientId,
        client_secret: API.clientSecret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    scopes: ['data.read'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
    },
  } as never);
  handler = provider.callback();

  const api = createServer(async (req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    let active = false;
    if (token !== undefined) {
      const answer = await request(`${issuer}/token/introspection`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${API.clientId}:${API.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token }).toString(),
      });
      active = ((await answer.body.json()) as { active?: boolean }).active === true;
    }
    if (active) res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":42}');
    else res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
  });
  const apiUrl = await listen(api);

  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    clientId,
    apiUrl,
    tokenRequests: () => tokenRequests,
    assertions: () => [...assertions],
    answers: () => [...answers],
    async close() {
      for (const s of [server, api]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    },
  };
}

/**
 * Mutual TLS (RFC 8705) for real: an oidc-provider in-process over HTTPS that asks every
 * client for a certificate (`features.mTLS`: `tls_client_auth`, `self_signed_tls_client_auth`
 * and certificate-bound access tokens), and a loopback HTTPS resource server that asks for
 * one too, validates each bearer token by introspection (with its own `client_secret_basic`
 * credentials) and accepts a token bound to a certificate (`cnf.x5t#S256`) only from a
 * connection that presented that certificate, as a real one must (§3.2). Both servers'
 * certificates are issued by the test CA given (test/helpers/test-ca.ts); a client trusts
 * them through that CA's certificate. Everything on 127.0.0.1.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { listen, readBody, relayToProvider } from './loopback.js';
import { subjectDnOf, type TestCa, thumbprintOf } from './test-ca.js';

/** A client the IdP knows; every one may use `client_credentials` with scope `data.read`. */
export type MtlsClient = {
  readonly clientId: string;
  /** Default true: tokens are bound to the certificate of the token request. */
  readonly boundTokens?: boolean;
} & (
  | {
      readonly method: 'tls_client_auth';
      /** The registered subject (RFC 4514, `CN=…,O=…`): the certificate must carry it. */
      readonly subjectDn: string;
    }
  | {
      readonly method: 'self_signed_tls_client_auth';
      /** The registered certificates (PEM), published as `x5c` of the client's JWKS. */
      readonly certificates: readonly string[];
    }
  | { readonly method: 'client_secret_basic'; readonly clientSecret: string }
);

export interface MtlsIdpOptions {
  /** Issues both servers' certificates; the IdP trusts client certificates it issued. */
  readonly ca: TestCa;
  readonly clients: readonly MtlsClient[];
}

/** What the resource server saw of one request. */
export interface ApiRequest {
  /** The thumbprint of the certificate the connection presented, or null. */
  readonly certificate: string | null;
  readonly status: number;
  /** Why it refused (`inactive`, `unbound`, `certificate mismatch`), when it did. */
  readonly refusal?: string;
}

/** One token request as the IdP saw it. */
export interface TokenRequest {
  readonly form: URLSearchParams;
  /** Whether it had an Authorization header. */
  readonly authorization: boolean;
  /** The thumbprint of the certificate its connection presented, or null. */
  readonly certificate: string | null;
  /** Whether that certificate was verified against the test CA. */
  readonly verified: boolean;
}

export interface MtlsIdp {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  /** The resource server (HTTPS): 200 to an active token used with its certificate, else 401. */
  readonly apiUrl: string;
  /** Token requests, at `/token` or at the mTLS alias `/mtls/token` (RFC 8705 §5). */
  tokenRequests(): number;
  /** Those that came to the alias. */
  aliasRequests(): number;
  /** What each token request carried: its form, an Authorization header, a certificate. */
  tokenForms(): readonly TokenRequest[];
  /** The raw bodies of the token endpoint's answers. */
  answers(): readonly string[];
  apiRequests(): readonly ApiRequest[];
  /** RFC 7662 introspection of a token, as the resource server does it. */
  introspect(token: string): Promise<{ active?: boolean; cnf?: Record<string, string> }>;
  close(): Promise<void>;
}

const API = { clientId: 'mtls-api', clientSecret: 'api-secret-7e8f9a0b' };

/** The certificate a request's connection presented (verified or not), or undefined. */
function peerCertificate(socket: unknown): string | undefined {
  const peer = (socket as TLSSocket).getPeerX509Certificate?.();
  return peer?.toString();
}

function metadataOf(client: MtlsClient): Record<string, unknown> {
  const common = {
    client_id: client.clientId,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: client.method,
    scope: 'data.read',
    tls_client_certificate_bound_access_tokens: client.boundTokens !== false,
  };
  switch (client.method) {
    case 'tls_client_auth':
      return { ...common, tls_client_auth_subject_dn: client.subjectDn };
    case 'self_signed_tls_client_auth':
      // oidc-provider matches the presented certificate against the x5c of these keys.
      return {
        ...common,
        jwks: {
          keys: client.certificates.map((pem) => {
            const x509 = new X509Certificate(pem);
            return {
              ...x509.publicKey.export({ format: 'jwk' }),
              x5c: [x509.raw.toString('base64')],
              use: 'sig',
            };
          }),
        },
      };
    case 'client_secret_basic':
      return { ...common, client_secret: client.clientSecret };
  }
}

export async function startMtlsIdp(options: MtlsIdpOptions): Promise<MtlsIdp> {
  const { default: Provider } = await import('oidc-provider');
  const { ca } = options;
  const tls = {
    ...ca.issueServer('mtls-idp'),
    ca: ca.cert,
    // Asks for a certificate but lets the handshake finish without a trusted one: the
    // provider decides (a self-signed one is fine for `self_signed_tls_client_auth`).
    requestCert: true,
    rejectUnauthorized: false,
  };
  const answers: string[] = [];
  const tokenForms: TokenRequest[] = [];
  const apiRequests: ApiRequest[] = [];
  let tokenRequests = 0;
  let aliasRequests = 0;
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer(tls, async (req, res) => {
    // The discovery document names /mtls/token as the mTLS alias of the token endpoint.
    if (req.method === 'POST' && req.url === '/mtls/token') {
      aliasRequests += 1;
      req.url = '/token';
    }
    if (req.method === 'POST' && req.url === '/token') {
      tokenRequests += 1;
      const body = await readBody(req);
      const pem = peerCertificate(req.socket);
      tokenForms.push({
        form: new URLSearchParams(body.toString()),
        authorization: req.headers.authorization !== undefined,
        certificate: pem === undefined ? null : thumbprintOf(pem),
        verified: (req.socket as TLSSocket).authorized === true,
      });
      relayToProvider(req, res, body, handler, (text) => answers.push(text));
      return;
    }
    handler?.(req, res);
  });
  const issuer = await listen(server, 'https');

  type Ctx = { socket: unknown };
  const provider = new Provider(issuer, {
    clients: [
      ...options.clients.map(metadataOf),
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
    clientAuthMethods: ['client_secret_basic', 'tls_client_auth', 'self_signed_tls_client_auth'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    discovery: { mtls_endpoint_aliases: { token_endpoint: `${issuer}/mtls/token` } },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        getCertificate: (ctx: Ctx) => peerCertificate(ctx.socket),
        // Verified by the TLS server against the test CA (`ca` above).
        certificateAuthorized: (ctx: Ctx) => (ctx.socket as TLSSocket).authorized === true,
        certificateSubjectMatches: (ctx: Ctx, property: string, expected: string) => {
          const pem = peerCertificate(ctx.socket);
          return (
            property === 'tls_client_auth_subject_dn' &&
            pem !== undefined &&
            subjectDnOf(pem) === expected
          );
        },
      },
    },
  } as never);
  handler = provider.callback();

  // The resource server's own HTTP client: trusts the test CA, presents no certificate.
  const introspection = new Agent({ connect: { ca: ca.cert } });
  const introspect = async (token: string) => {
    const answer = await request(`${issuer}/token/introspection`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${API.clientId}:${API.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }).toString(),
      dispatcher: introspection,
    });
    return (await answer.body.json()) as { active?: boolean; cnf?: Record<string, string> };
  };

  const api = createServer(
    { ...ca.issueServer('mtls-api'), ca: ca.cert, requestCert: true, rejectUnauthorized: false },
    async (req, res) => {
      const pem = peerCertificate(req.socket);
      const certificate = pem === undefined ? null : thumbprintOf(pem);
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const answer = token === undefined ? {} : await introspect(token);
      const bound = answer.cnf?.['x5t#S256'];
      const refusal = !answer.active
        ? 'inactive'
        : bound === undefined
          ? 'unbound'
          : bound !== certificate
            ? 'certificate mismatch'
            : undefined;
      if (refusal === undefined) {
        apiRequests.push({ certificate, status: 200 });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":42}');
      } else {
        apiRequests.push({ certificate, status: 401, refusal });
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      }
    },
  );
  const apiUrl = await listen(api, 'https');

  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    apiUrl,
    tokenRequests: () => tokenRequests,
    aliasRequests: () => aliasRequests,
    tokenForms: () => [...tokenForms],
    answers: () => [...answers],
    apiRequests: () => [...apiRequests],
    introspect,
    async close() {
      for (const s of [server, api]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
      await introspection.destroy();
    },
  };
}

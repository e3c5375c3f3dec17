/**
 * DPoP (RFC 9449) on loopback, validated as real servers do: an oidc-provider in-process
 * with `features.dPoP` (nonces from its `nonceSecret`, required at the token endpoint when
 * asked) whose `dpop-worker` client gets DPoP-bound tokens by client credentials, and a
 * resource server that accepts `Authorization: DPoP <token>` only with a valid proof:
 * introspection at the IdP (token active, `cnf.jkt`), the proof's signature with the key in
 * its header, that key's RFC 7638 thumbprint = `cnf.jkt`, `htm`, `htu`, `iat` within 60 s,
 * `jti` never seen before, `ath` = the token's hash, and its own nonce (a missing or stale
 * one gets `401 WWW-Authenticate: DPoP error="use_dpop_nonce"` with `DPoP-Nonce`), which the
 * test rotates when it likes. Everything on 127.0.0.1.
 *
 * oidc-provider's nonces are HKDF values of a 60 s time step (lib/helpers/challenge.js):
 * it issues the next step's value and accepts five steps around now, so it cannot be made
 * to rotate on demand; the resource server's nonce can (`rotateNonce()`).
 */
import {
  constants,
  createHash,
  createPublicKey,
  type JsonWebKey,
  randomBytes,
  verify,
} from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { request } from 'undici';
import { listen, readBody, relayToProvider } from './loopback.js';

export interface DpopIdpOptions {
  /** The IdP answers a token request without a nonce `400 use_dpop_nonce` (default true). */
  readonly requireNonceAtIdp?: boolean;
  /** The resource server demands its own nonce (default true). */
  readonly requireNonceAtApi?: boolean;
  /** Lifetime of the access tokens, in seconds (default 3600). */
  readonly accessTokenTtlSeconds?: number;
  /**
   * The worker authenticates with `private_key_jwt` with these public keys instead of its
   * secret (FAPI 2.0's pairing of DPoP with signed client assertions).
   */
  readonly clientJwks?: { readonly keys: readonly object[] };
}

/** One request the resource server saw, and what it decided. */
export interface ApiRecord {
  readonly status: number;
  /** Why it was refused (`use_dpop_nonce`, `invalid_token`, `invalid_dpop_proof: …`). */
  readonly reason: string | undefined;
  readonly jti: string | undefined;
  readonly nonce: string | undefined;
  /** RFC 7638 thumbprint of the proof's key. */
  readonly jkt: string | undefined;
  readonly instance: string | undefined;
}

/** One token request the IdP saw. */
export interface TokenRecord {
  readonly status: number;
  /** The `error` of a refused request (`use_dpop_nonce`, …). */
  readonly error: string | undefined;
  /** The decoded proof (header and claims), when there was one. */
  readonly proof: { header: Record<string, unknown>; claims: Record<string, unknown> } | undefined;
  readonly tokenType: string | undefined;
}

export interface DpopIdp {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly apiUrl: string;
  /** Token requests, in order. */
  tokenRequests(): readonly TokenRecord[];
  /** Successful token requests (tokens issued). */
  tokensIssued(): number;
  /** Every access token issued, in order (for revocation). */
  accessTokens(): readonly string[];
  /** Requests of the resource server, in order. */
  apiRequests(): readonly ApiRecord[];
  /** The resource server's nonce now. */
  apiNonce(): string;
  /**
   * A new resource-server nonce: proofs with the old one get `use_dpop_nonce`. `announce`:
   * the old one stays accepted until the next rotation, and every 200 carries the new one
   * in `DPoP-Nonce` (how a server rotates without a refusal).
   */
  rotateNonce(announce?: boolean): void;
  /** Answer the next `count` requests that pass every check with 503 (to make retries). */
  failNext(count: number): void;
  /** Revoke a token at the IdP: introspection says inactive from now on. */
  revoke(token: string): Promise<void>;
  /** Forget what was recorded. */
  reset(): void;
  close(): Promise<void>;
}

const API = { clientId: 'dpop-api', clientSecret: 'api-secret-9f8e7d6c' };
const WORKER = { clientId: 'dpop-worker', clientSecret: 'worker-secret-1a2b3c4d' };
/** How far a proof's `iat` may be from now (RFC 9449 §11.1 leaves it to the server). */
const IAT_WINDOW_S = 60;

function decodeJwt(
  jwt: string,
): { header: Record<string, unknown>; claims: Record<string, unknown> } | undefined {
  try {
    const [header, claims] = jwt.split('.');
    return {
      header: JSON.parse(Buffer.from(header!, 'base64url').toString()),
      claims: JSON.parse(Buffer.from(claims!, 'base64url').toString()),
    };
  } catch {
    return undefined;
  }
}

/** RFC 7638 thumbprint of a public JWK. */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  const members: Record<string, string[]> = {
    RSA: ['e', 'kty', 'n'],
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
  };
  const required = members[String(jwk.kty)] ?? ['kty'];
  const canonical = `{${required.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** Verify a JWS with the public JWK in its header (what the server does, without jose). */
function verifyProof(proof: string, header: Record<string, unknown>): string | undefined {
  const jwk = header.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null) return 'no jwk in the header';
  if ('d' in jwk || 'p' in jwk) return 'the header jwk has private members';
  const [h, c, s] = proof.split('.');
  if (!h || !c || !s) return 'not a JWS';
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return 'the header jwk is not a public key';
  }
  const data = Buffer.from(`${h}.${c}`);
  const signature = Buffer.from(s, 'base64url');
  let ok: boolean;
  switch (header.alg) {
    case 'ES256':
      ok = verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
      break;
    case 'RS256':
      ok = verify('sha256', data, key, signature);
      break;
    case 'PS256':
      ok = verify(
        'sha256',
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      );
      break;
    case 'EdDSA':
      ok = verify(null, data, key, signature);
      break;
    default:
      return `alg ${String(header.alg)} not accepted`;
  }
  return ok ? undefined : 'bad signature';
}

export async function startDpopIdp(options: DpopIdpOptions = {}): Promise<DpopIdp> {
  const { default: Provider } = await import('oidc-provider');
  const requireNonceAtIdp = options.requireNonceAtIdp ?? true;
  const requireNonceAtApi = options.requireNonceAtApi ?? true;
  const tokenRecords: TokenRecord[] = [];
  const accessTokens: string[] = [];
  const apiRecords: ApiRecord[] = [];
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  const server = createServer(async (req, res) => {
    if (req.method === 'POST' && req.url === '/token') {
      const body = await readBody(req);
      const proofHeader = req.headers.dpop;
      const proof = typeof proofHeader === 'string' ? decodeJwt(proofHeader) : undefined;
      // Record what the provider answers.
      relayToProvider(req, res, body, handler, (text, status) => {
        let answer: Record<string, unknown> = {};
        try {
          answer = JSON.parse(text);
        } catch {}
        if (typeof answer.access_token === 'string') accessTokens.push(answer.access_token);
        tokenRecords.push({
          status,
          error: typeof answer.error === 'string' ? answer.error : undefined,
          proof,
          tokenType: typeof answer.token_type === 'string' ? answer.token_type : undefined,
        });
      });
      return;
    }
    handler?.(req, res);
  });
  const issuer = await listen(server);
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: WORKER.clientId,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        ...(options.clientJwks
          ? { token_endpoint_auth_method: 'private_key_jwt', jwks: options.clientJwks }
          : {
              token_endpoint_auth_method: 'client_secret_basic',
              client_secret: WORKER.clientSecret,
            }),
        scope: 'data.read',
        // Only DPoP-bound tokens for this client: a request without a proof is refused.
        dpop_bound_access_tokens: true,
      },
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
    enabledJWA: { dPoPSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA', 'Ed25519'] },
    ttl: { ClientCredentials: options.accessTokenTtlSeconds ?? 3600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      dPoP: {
        enabled: true,
        nonceSecret: randomBytes(32),
        requireNonce: () => requireNonceAtIdp,
      },
    },
  } as never);
  handler = provider.callback();

  let nonce = randomBytes(16).toString('base64url');
  /** Still accepted after an announced rotation. */
  let previousNonce: string | undefined;
  let failures = 0;
  const seenJti = new Set<string>();

  async function introspect(token: string): Promise<{ active?: boolean; cnf?: { jkt?: string } }> {
    const answer = await request(`${issuer}/token/introspection`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${API.clientId}:${API.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }).toString(),
    });
    return (await answer.body.json()) as { active?: boolean; cnf?: { jkt?: string } };
  }

  let apiUrl = '';
  const api = createServer(async (req, res) => {
    await readBody(req);
    const instance = req.headers['x-instance'] as string | undefined;
    const refuse = (
      reason: string,
      challenge: string,
      fields: Partial<ApiRecord> = {},
      headers: Record<string, string> = {},
    ) => {
      apiRecords.push({
        status: 401,
        reason,
        jti: undefined,
        nonce: undefined,
        jkt: undefined,
        instance,
        ...fields,
      });
      res.writeHead(401, { 'www-authenticate': challenge, ...headers }).end();
    };
    const token = /^DPoP ([\x21-\x7e]+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined) {
      return refuse('no DPoP token', 'DPoP algs="ES256 RS256 PS256 EdDSA"');
    }
    const proofHeader = req.headers.dpop;
    if (typeof proofHeader !== 'string' || proofHeader.includes(',')) {
      return refuse('invalid_dpop_proof: not exactly one proof', 'DPoP error="invalid_dpop_proof"');
    }
    const proof = decodeJwt(proofHeader);
    if (proof === undefined) {
      return refuse('invalid_dpop_proof: not a JWT', 'DPoP error="invalid_dpop_proof"');
    }
    const { header, claims } = proof;
    const jkt = typeof header.jwk === 'object' ? jwkThumbprint(header.jwk as never) : undefined;
    const fields = {
      jti: claims.jti as string | undefined,
      nonce: claims.nonce as string | undefined,
      jkt,
    };
    const badProof = (why: string) =>
      refuse(`invalid_dpop_proof: ${why}`, 'DPoP error="invalid_dpop_proof"', fields);
    if (header.typ !== 'dpop+jwt') return badProof('typ');
    const signature = verifyProof(proofHeader, header);
    if (signature !== undefined) return badProof(signature);
    if (claims.htm !== req.method) return badProof('htm');
    const htu = new URL(req.url ?? '/', apiUrl);
    htu.search = '';
    if (claims.htu !== htu.href) return badProof(`htu ${String(claims.htu)} ≠ ${htu.href}`);
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.iat !== 'number' || Math.abs(now - claims.iat) > IAT_WINDOW_S) {
      return badProof('iat');
    }
    if (typeof claims.jti !== 'string' || claims.jti.length < 16) return badProof('jti');
    if (seenJti.has(claims.jti)) return badProof('jti replayed');
    seenJti.add(claims.jti);
    const ath = createHash('sha256').update(token).digest('base64url');
    if (claims.ath !== ath) return badProof('ath');
    const knownNonce =
      claims.nonce === nonce || (previousNonce !== undefined && claims.nonce === previousNonce);
    if (requireNonceAtApi && !knownNonce) {
      return refuse(
        'use_dpop_nonce',
        'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"',
        fields,
        { 'dpop-nonce': nonce },
      );
    }
    const introspection = await introspect(token);
    if (introspection.active !== true) {
      return refuse('invalid_token', 'DPoP error="invalid_token"', fields);
    }
    if (introspection.cnf?.jkt === undefined || introspection.cnf.jkt !== jkt) {
      return refuse('invalid_token: key binding', 'DPoP error="invalid_token"', fields);
    }
    if (failures > 0) {
      failures -= 1;
      apiRecords.push({ status: 503, reason: 'failNext', instance, ...fields });
      res.writeHead(503).end();
      return;
    }
    apiRecords.push({ status: 200, reason: undefined, instance, ...fields });
    res
      .writeHead(200, {
        'content-type': 'application/json',
        ...(previousNonce !== undefined ? { 'dpop-nonce': nonce } : {}),
      })
      .end('{"data":42}');
  });
  apiUrl = await listen(api);

  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    clientId: WORKER.clientId,
    clientSecret: WORKER.clientSecret,
    apiUrl,
    tokenRequests: () => [...tokenRecords],
    tokensIssued: () => tokenRecords.filter((r) => r.status === 200).length,
    accessTokens: () => [...accessTokens],
    apiRequests: () => [...apiRecords],
    apiNonce: () => nonce,
    rotateNonce(announce = false) {
      previousNonce = announce ? nonce : undefined;
      nonce = randomBytes(16).toString('base64url');
    },
    failNext(count: number) {
      failures = count;
    },
    async revoke(token: string) {
      const found = await (
        provider as unknown as {
          ClientCredentials: { find(v: string): Promise<{ destroy(): Promise<void> } | undefined> };
        }
      ).ClientCredentials.find(token);
      if (found === undefined) throw new Error('no such token at the IdP');
      await found.destroy();
    },
    reset() {
      tokenRecords.length = 0;
      apiRecords.length = 0;
    },
    async close() {
      for (const s of [server, api]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    },
  };
}

import { tokenFingerprint } from 'steadfast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Idp, startIdp } from '../../../src/apps/idp.js';

const worker = { clientId: 'worker', clientSecret: 'worker-secret', scopes: ['weather.read'] };
const api = { clientId: 'weather-api', clientSecret: 'api-secret', mayRevokeAnyToken: true };
const other = { clientId: 'other', clientSecret: 'other-secret' };

function basic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
}

async function postForm(
  url: string,
  form: Record<string, string>,
  authorization?: string,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization ? { authorization } : {}),
    },
    body: new URLSearchParams(form),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

/** A client-credentials token of the worker client (scope `weather.read`), checked to be issued. */
async function issueToken(idp: Idp): Promise<string> {
  const res = await postForm(
    idp.tokenEndpoint,
    { grant_type: 'client_credentials', scope: 'weather.read' },
    basic(worker.clientId, worker.clientSecret),
  );
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

describe('startIdp', () => {
  let idp: Idp;
  const logLines: string[] = [];

  beforeAll(async () => {
    idp = await startIdp({
      clients: [worker, api, other],
      accessTokenTtlSeconds: 120,
      log: (line) => logLines.push(line),
    });
  });
  afterAll(async () => {
    await idp?.close();
  });

  const introspect = (token: string) =>
    postForm(idp.introspectionEndpoint, { token }, basic(api.clientId, api.clientSecret));

  it('issues a bearer token with client_secret_basic and counts exactly one token request', async () => {
    const before = idp.stats().tokenRequests;
    const res = await postForm(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials', scope: 'weather.read' },
      basic(worker.clientId, worker.clientSecret),
    );
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    expect(res.body.expires_in).toBe(120);
    expect(res.body.scope).toBe('weather.read');
    expect(typeof res.body.access_token).toBe('string');
    expect(idp.stats().tokenRequests).toBe(before + 1);
  });

  it('issues a token with client_secret_post', async () => {
    const res = await postForm(idp.tokenEndpoint, {
      grant_type: 'client_credentials',
      client_id: worker.clientId,
      client_secret: worker.clientSecret,
    });
    expect(res.status).toBe(200);
    expect(typeof res.body.access_token).toBe('string');
  });

  it('introspects an issued token as active, with its client, scope and expiry', async () => {
    const token = await issueToken(idp);
    const res = await introspect(token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      active: true,
      client_id: 'worker',
      scope: 'weather.read',
      iss: idp.issuer,
      token_type: 'Bearer',
    });
    expect(res.body.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it('introspects a made-up token as inactive', async () => {
    const res = await introspect('not-a-token-this-idp-issued');
    expect(res.body).toEqual({ active: false });
  });

  it('revokes a token through the revocation endpoint, after which it is inactive', async () => {
    const token = await issueToken(idp);
    const revoked = await postForm(
      idp.revocationEndpoint,
      { token, token_type_hint: 'access_token' },
      basic(worker.clientId, worker.clientSecret),
    );
    expect(revoked.status).toBe(200);
    expect((await introspect(token)).body.active).toBe(false);
  });

  it("lets a client with mayRevokeAnyToken revoke another client's token, and no one else", async () => {
    const token = await issueToken(idp);
    const refused = await postForm(
      idp.revocationEndpoint,
      { token },
      basic(other.clientId, other.clientSecret),
    );
    expect(refused.status).toBe(400);
    expect((await introspect(token)).body.active).toBe(true);

    const allowed = await postForm(
      idp.revocationEndpoint,
      { token },
      basic(api.clientId, api.clientSecret),
    );
    expect(allowed.status).toBe(200);
    expect((await introspect(token)).body.active).toBe(false);
  });

  it('revokes in-process: one token, then every active token', async () => {
    const first = await issueToken(idp);
    expect(await idp.revoke(first)).toBe(true);
    expect(await idp.revoke(first)).toBe(false);
    expect((await introspect(first)).body.active).toBe(false);

    const second = await issueToken(idp);
    const third = await issueToken(idp);
    expect(await idp.revokeAll()).toBeGreaterThanOrEqual(2);
    expect(idp.stats().activeTokens).toBe(0);
    expect((await introspect(second)).body.active).toBe(false);
    expect((await introspect(third)).body.active).toBe(false);
  });

  it('refuses a wrong secret with 401 invalid_client and issues nothing', async () => {
    const before = idp.stats();
    const res = await postForm(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials' },
      basic(worker.clientId, 'wrong-secret'),
    );
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    const after = idp.stats();
    expect(after.tokenRequests).toBe(before.tokenRequests + 1);
    expect(after.tokensIssued).toBe(before.tokensIssued);
    expect(after.tokenErrors).toBe(before.tokenErrors + 1);
  });

  it('refuses an unknown client and a scope the client may not request', async () => {
    const unknown = await postForm(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials' },
      basic('nobody', 'whatever'),
    );
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe('invalid_client');

    const scope = await postForm(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials', scope: 'weather.read' },
      basic(other.clientId, other.clientSecret),
    );
    expect(scope.status).toBe(400);
    expect(scope.body.error).toBe('invalid_scope');
  });

  it('logs fingerprints, never tokens or secrets', async () => {
    const token = await issueToken(idp);
    await idp.revoke(token);
    const log = logLines.join('\n');
    expect(log).toContain(tokenFingerprint(token));
    expect(log).not.toContain(token);
    expect(log).not.toContain(worker.clientSecret);
  });
});

describe('startIdp with an audience', () => {
  it('issues tokens whose introspection names the audience', async () => {
    const idp = await startIdp({
      clients: [worker, api],
      audience: 'http://weather.example',
    });
    try {
      const res = await postForm(
        idp.introspectionEndpoint,
        { token: await issueToken(idp) },
        basic(api.clientId, api.clientSecret),
      );
      expect(res.body).toMatchObject({ active: true, aud: 'http://weather.example' });
    } finally {
      await idp.close();
    }
  });

  it('close() frees the port', async () => {
    const idp = await startIdp({ clients: [worker] });
    await idp.close();
    await expect(fetch(idp.tokenEndpoint, { method: 'POST' })).rejects.toThrow();
  });

  it('rejects invalid options with a message naming the field', async () => {
    await expect(startIdp({ clients: [] })).rejects.toThrow(/clients/);
    await expect(startIdp({ clients: [worker], accessTokenTtlSeconds: 0 })).rejects.toThrow(
      /accessTokenTtlSeconds/,
    );
  });
});

describe('startIdp with a public issuer', () => {
  it('names the configured issuer in introspection while listening on loopback', async () => {
    const idp = await startIdp({ clients: [worker, api], issuer: 'http://idp.internal:8081/' });
    try {
      expect(idp.issuer).toBe('http://idp.internal:8081');
      expect(idp.tokenEndpoint.startsWith(idp.url)).toBe(true);
      const issued = await postForm(
        idp.tokenEndpoint,
        { grant_type: 'client_credentials' },
        basic(worker.clientId, worker.clientSecret),
      );
      const res = await postForm(
        idp.introspectionEndpoint,
        { token: issued.body.access_token as string },
        basic(api.clientId, api.clientSecret),
      );
      expect(res.body).toMatchObject({ active: true, iss: 'http://idp.internal:8081' });
    } finally {
      await idp.close();
    }
  });

  it('refuses an issuer that is not an http(s) URL', async () => {
    await expect(startIdp({ clients: [worker], issuer: 'idp:8081' })).rejects.toThrow(/issuer/);
  });
});

describe('startIdp with an admin token', () => {
  const adminToken = 'idp-admin-token-0123456789';
  let idp: Idp;

  beforeAll(async () => {
    idp = await startIdp({ clients: [worker, api], adminToken });
  });
  afterAll(async () => {
    await idp?.close();
  });

  const getStats = (authorization?: string, method = 'GET', path = '/admin/stats') =>
    fetch(`${idp.url}${path}`, {
      method,
      headers: authorization ? { authorization } : {},
    });

  it('answers GET /admin/stats with the counters stats() gives, after real token traffic', async () => {
    expect(idp.statsEndpoint).toBe(`${idp.url}/admin/stats`);
    const issued = await issueToken(idp);
    const refused = await postForm(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials' },
      basic(worker.clientId, 'wrong-secret'),
    );
    expect(refused.status).toBe(401);
    await postForm(
      idp.revocationEndpoint,
      { token: issued },
      basic(api.clientId, api.clientSecret),
    );

    const res = await getStats(`Bearer ${adminToken}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, number>;
    expect(body).toEqual(idp.stats());
    expect(body).toMatchObject({
      tokenRequests: 2,
      tokensIssued: 1,
      tokenErrors: 1,
      revocationRequests: 1,
      tokensRevoked: 1,
      activeTokens: 0,
    });
  });

  it('refuses a missing or wrong admin token with 401, and a client secret is no admin token', async () => {
    const before = idp.stats();
    for (const authorization of [
      undefined,
      'Bearer wrong-admin-token-0123456789',
      `Bearer ${adminToken}x`,
      `Basic ${Buffer.from(`x:${adminToken}`).toString('base64')}`,
      basic(api.clientId, api.clientSecret),
    ]) {
      const res = await getStats(authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="idp-admin"');
      expect(await res.json()).toEqual({ error: 'admin token required' });
    }
    // admin requests are not token-endpoint traffic
    expect(idp.stats()).toEqual(before);
  });

  it('answers 404 for other admin paths and 405 for other methods, but only after the token', async () => {
    const authorization = `Bearer ${adminToken}`;
    expect((await getStats(authorization, 'GET', '/admin/tokens')).status).toBe(404);
    expect((await getStats(undefined, 'GET', '/admin/tokens')).status).toBe(401);
    const post = await getStats(authorization, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    // the OAuth2 endpoints are untouched
    const discovery = await fetch(`${idp.url}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
  });

  it('has no admin route without an admin token, and refuses one shorter than 16 characters', async () => {
    const plain = await startIdp({ clients: [worker] });
    try {
      expect(plain.statsEndpoint).toBeUndefined();
      const res = await fetch(`${plain.url}/admin/stats`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      expect(res.status).toBe(404);
    } finally {
      await plain.close();
    }
    await expect(startIdp({ clients: [worker], adminToken: 'short' })).rejects.toThrow(
      /adminToken/,
    );
    await expect(startIdp({ clients: [worker], adminToken: '' })).rejects.toThrow(/adminToken/);
  });
});

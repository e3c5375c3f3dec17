import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/client-credentials.js';
import {
  createClient,
  InvalidConfigurationError,
  type SteadfastClient,
} from '../../../packages/steadfast/src/index.js';
import { type ScriptedServer, startScriptedServer } from '../../helpers/http-server.js';
import { type OAuthStack, startOAuthStack } from '../../helpers/oauth.js';
import { setUpTracing, type Tracing } from '../telemetry/support.js';

/**
 * The token belongs to the API the client was built for. Two loopback addresses make two
 * origins: the API on 127.0.0.1, somebody else on 127.0.0.2.
 */
let stack: OAuthStack;
let api: ScriptedServer;
let other: ScriptedServer;
let tracing: Tracing;
const clients: SteadfastClient[] = [];

beforeAll(async () => {
  stack = await startOAuthStack();
  tracing = setUpTracing();
});
afterAll(async () => {
  await stack.close();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all([api?.close(), other?.close()]);
});

function client(options: { authOrigins?: string[]; baseUrl?: string } = {}): SteadfastClient {
  const c = createClient({
    name: 'origins',
    baseUrl: options.baseUrl ?? api.url,
    ...(options.authOrigins ? { authOrigins: options.authOrigins } : {}),
    retry: false,
    telemetry: { metrics: false, tracing: { tracerProvider: tracing.provider } },
    auth: clientCredentials({
      tokenUrl: stack.tokenUrl,
      clientId: stack.client.clientId,
      clientSecret: stack.client.clientSecret,
      scope: stack.client.scope,
    }),
  });
  clients.push(c);
  return c;
}

async function servers(): Promise<void> {
  api = await startScriptedServer(() => ({ status: 200, body: 'ok' }));
  other = await startScriptedServer(() => ({ status: 200, body: 'ok' }), { host: '127.0.0.2' });
}

const authorizationOf = (server: ScriptedServer, index: number) =>
  server.requests[index]?.headers.authorization;

describe('the bearer token goes only to the origins it belongs to', () => {
  it("is sent to baseUrl's origin", async () => {
    await servers();
    await (await client().fetch('/data')).text();

    expect(authorizationOf(api, 0)).toMatch(/^Bearer \S+$/);
  });

  it.each([
    ['an absolute URL', (port: number) => `http://127.0.0.2:${port}/steal`],
    ['a scheme-relative URL', (port: number) => `//127.0.0.2:${port}/steal`],
    ['a URL object', (port: number) => new URL(`http://127.0.0.2:${port}/steal`)],
    ['a Request', (port: number) => new Request(`http://127.0.0.2:${port}/steal`)],
  ])('is not sent to another origin given as %s', async (_kind, target) => {
    await servers();
    const c = client();
    await (await c.fetch('/data')).text(); // a token exists: it would be attached if allowed

    const res = await c.fetch(target(other.port));
    await res.text();
    await c.request(target(other.port) as string).then((r) => r.body.dump());

    expect(res.status).toBe(200);
    expect(other.requests).toHaveLength(2);
    for (const request of other.requests) expect(request.headers.authorization).toBeUndefined();
    expect(authorizationOf(api, 0)).toMatch(/^Bearer /);
  });

  it('is not sent to the same host on another port', async () => {
    await servers();
    const sameHostOtherPort = await startScriptedServer(() => ({ status: 200 }));
    try {
      const c = client();
      await (await c.fetch(`${sameHostOtherPort.url}/x`)).text();
      expect(sameHostOtherPort.requests[0]?.headers.authorization).toBeUndefined();
    } finally {
      await sameHostOtherPort.close();
    }
  });

  it('is sent to an origin listed in authOrigins', async () => {
    await servers();
    const c = client({ authOrigins: [`${other.url}/any/path`] });

    await (await c.fetch(`${other.url}/allowed`)).text();

    expect(authorizationOf(other, 0)).toMatch(/^Bearer \S+$/);
  });

  it('a 401 from a foreign origin is returned as is, without any token request', async () => {
    await servers();
    other.setScript(() => ({
      status: 401,
      headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    }));
    const c = client();
    await (await c.fetch('/data')).text();
    const before = stack.tokenRequests();

    const res = await c.fetch(`${other.url}/x`);

    expect(res.status).toBe(401);
    expect(other.requests).toHaveLength(1);
    expect(stack.tokenRequests()).toBe(before);
  });

  it('the call span says the token was withheld', async () => {
    await servers();
    tracing.reset();
    const c = client();

    await (await c.fetch(`${other.url}/x`)).text();
    await (await c.fetch('/data')).text();

    const calls = tracing.spans().filter((s) => s.name.startsWith('origins '));
    expect(calls).toHaveLength(2);
    const withheld = calls.map((s) =>
      s.events.some((e) => e.name === 'steadfast.auth.token_withheld'),
    );
    expect(withheld).toEqual([true, false]);
  });

  it('a client with auth needs baseUrl or authOrigins', () => {
    const auth = clientCredentials({
      tokenUrl: 'http://127.0.0.1:1/token',
      clientId: 'c',
      clientSecret: 's',
    });
    expect(() => createClient({ name: 'no-origin', auth })).toThrow(InvalidConfigurationError);
    expect(() =>
      createClient({ name: 'bad-origin', auth, authOrigins: ['ftp://x'] } as never),
    ).toThrow(/authOrigins\[0\]/);
    const ok = createClient({
      name: 'ok',
      auth,
      authOrigins: ['http://127.0.0.2:8080'],
      telemetry: { metrics: false, tracing: false },
    });
    return ok.close();
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/client-credentials.js';
import { createClient } from '../../../packages/steadfast/src/index.js';
import { type OAuthStack, startOAuthStack } from '../../helpers/oauth.js';
import { type Client, type ClientOptions, NO_TELEMETRY } from '../support.js';
import { type Answer, type Api, type ApiRequest, startApi } from './hedging-api.js';

/**
 * Where the access token goes when attempts are hedged: to every endpoint of a group that is
 * the token's API, each attempt with its own header, and never to any other origin. The IdP
 * is real (oidc-provider); 127.0.0.1 and 127.0.0.2 make different hosts.
 */
let stack: OAuthStack;
const apis: Api[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  stack = await startOAuthStack();
});
afterAll(async () => {
  await stack.close();
});
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(apis.splice(0).map((a) => a.close()));
});

async function api(answer: (r: ApiRequest) => Answer, host?: string): Promise<Api> {
  const started = await startApi(answer, host);
  apis.push(started);
  return started;
}

function client(baseUrl: string, hedging: ClientOptions['hedging']): Client {
  const c = createClient({
    name: 'hedged-auth',
    baseUrl,
    retry: false,
    telemetry: NO_TELEMETRY,
    hedging,
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

const hangFirst = (r: ApiRequest): Answer => (r.index === 0 ? 'hang' : { body: 'ok' });
const authorization = (a: Api) => a.requests.map((r) => r.headers.authorization);

describe('hedged attempts and the access token', () => {
  it("carry it to every endpoint of the token's API, each attempt its own header", async () => {
    const primary = await api(() => 'hang');
    const replica = await api(() => ({ body: 'from the replica' }), '127.0.0.2');
    const c = client(primary.url, { delayMs: 30, endpoints: [primary.url, replica.url] });

    expect(await (await c.fetch('/data')).text()).toBe('from the replica');
    const [sentToPrimary] = authorization(primary);
    const [sentToReplica] = authorization(replica);
    expect(sentToPrimary).toMatch(/^Bearer \S+$/);
    expect(sentToReplica).toBe(sentToPrimary);
  });

  it('never carry it to an origin outside the group, the hedge neither', async () => {
    const home = await api(() => ({ body: 'home' }));
    const elsewhere = await api(hangFirst, '127.0.0.2');
    const c = client(home.url, { delayMs: 30, endpoints: [home.url] });
    await (await c.fetch('/warm-up')).text(); // a token exists: it would go if it were allowed

    expect(await (await c.fetch(`${elsewhere.url}/steal`)).text()).toBe('ok');
    expect(elsewhere.requests).toHaveLength(2); // the first attempt and its hedge
    expect(authorization(elsewhere)).toEqual([undefined, undefined]);
    expect(authorization(home)[0]).toMatch(/^Bearer /);
  });

  it('never carry it to a group of another API', async () => {
    const home = await api(() => ({ body: 'home' }));
    const first = await api(() => 'hang', '127.0.0.2');
    const second = await api(() => ({ body: 'other API' }), '127.0.0.2');
    const c = client(home.url, { delayMs: 30, endpoints: [first.url, second.url] });
    await (await c.fetch('/warm-up')).text();

    expect(await (await c.fetch(`${first.url}/x`)).text()).toBe('other API');
    expect([...authorization(first), ...authorization(second)]).toEqual([undefined, undefined]);
  });
});

/**
 * What the flaky API's test files share: an IdP started before the file's tests (a worker
 * client and the API's own resource-server client), flaky APIs that introspect at it, started
 * per test and closed after each, and worker tokens. Call it at the top level of a test file.
 *
 * @example
 * const fixture = useFlakyApiFixture();
 * const api = await fixture.startApi({ seed: 7 });
 * const token = await fixture.newToken();
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { type FlakyApi, type FlakyApiOptions, startFlakyApi } from '../../../src/apps/flaky-api.js';
import { type Idp, startIdp } from '../../../src/apps/idp.js';

export const worker = {
  clientId: 'worker',
  clientSecret: 'worker-secret',
  scopes: ['weather.read'],
};
/** A second worker client: its requests count under its own client id. */
export const otherWorker = {
  clientId: 'other-worker',
  clientSecret: 'other-worker-secret',
  scopes: ['weather.read'],
};
export const resourceServer = {
  clientId: 'weather-api',
  clientSecret: 'api-secret',
  mayRevokeAnyToken: true,
};
export const adminToken = 'admin-token-for-tests-0123456789';

export interface FlakyApiFixture {
  /** The IdP, once the file's `beforeAll` started it. */
  readonly idp: Idp;
  /**
   * Start a flaky API that introspects tokens at the IdP as the resource server (cached for
   * longer than any test) and takes {@link adminToken}; `options` add to or replace that.
   * Closed after the test.
   */
  startApi(options?: Partial<FlakyApiOptions>): Promise<FlakyApi>;
  /** A new client-credentials token of `client` (scope `weather.read`). Default: {@link worker}. */
  newToken(client?: { clientId: string; clientSecret: string }): Promise<string>;
}

export function useFlakyApiFixture(): FlakyApiFixture {
  let idp: Idp | undefined;
  const apis: FlakyApi[] = [];

  beforeAll(async () => {
    idp = await startIdp({ clients: [worker, otherWorker, resourceServer] });
  });
  afterEach(async () => {
    await Promise.all(apis.splice(0).map((api) => api.close()));
  });
  afterAll(async () => {
    await idp?.close();
  });

  const started = (): Idp => {
    if (idp === undefined) throw new Error('the IdP is started in beforeAll');
    return idp;
  };

  return {
    get idp() {
      return started();
    },
    startApi: async (options = {}) => {
      const api = await startFlakyApi({
        introspection: {
          url: started().introspectionEndpoint,
          clientId: resourceServer.clientId,
          clientSecret: resourceServer.clientSecret,
          // Long enough that a test never sees the cache expire: no test depends on timing.
          cacheTtlMs: 60_000,
        },
        adminToken,
        ...options,
      });
      apis.push(api);
      return api;
    },
    newToken: async (client = worker) => {
      const res = await fetch(started().tokenEndpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials&scope=weather.read',
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { access_token: string }).access_token;
    },
  };
}

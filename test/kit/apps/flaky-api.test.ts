import { tokenFingerprint } from 'steadfast';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../packages/steadfast/src/pipeline/seeded-random.js';
import { faultProfile } from '../../../src/apps/fault-profile.js';
import { type FlakyApi, type FlakyApiOptions, startFlakyApi } from '../../../src/apps/flaky-api.js';
import { logNormal } from '../../../src/apps/seeded-random.js';
import { percentile } from '../../../src/loadtest/percentile.js';
import { adminToken, resourceServer, useFlakyApiFixture, worker } from './flaky-api-fixture.js';

const fixture = useFlakyApiFixture();
const { newToken } = fixture;

function startApi(
  overrides: Partial<FlakyApiOptions> = {},
  logLines: string[] = [],
): Promise<FlakyApi> {
  return fixture.startApi({
    revocationUrl: fixture.idp.revocationEndpoint,
    seed: 7,
    log: (line) => logLines.push(line),
    ...overrides,
  });
}

function forecast(api: FlakyApi, token?: string): Promise<Response> {
  return fetch(`${api.url}/weatherforecast`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

function admin(api: FlakyApi, method: string, path: string, body?: unknown, token = adminToken) {
  return fetch(`${api.url}/admin${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

describe('flaky API, healthy', () => {
  it('serves a forecast to a valid token, introspecting it once for a burst of calls', async () => {
    const api = await startApi();
    const token = await newToken();
    const responses = await Promise.all(Array.from({ length: 5 }, () => forecast(api, token)));
    for (const res of responses) {
      expect(res.status).toBe(200);
      const days = (await res.json()) as { date: string; temperatureC: number; summary: string }[];
      expect(days).toHaveLength(5);
      expect(typeof days[0]!.summary).toBe('string');
    }
    expect(api.stats().introspection.requests).toBe(1);
    expect(api.stats().byStatus).toEqual({ '200': 5 });
  });

  it('answers 401 without an error code when no token is sent', async () => {
    const api = await startApi();
    const res = await forecast(api);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="flaky-api"');
  });

  it('answers 401 invalid_token for a token the IdP never issued', async () => {
    const api = await startApi();
    const res = await forecast(api, 'made-up-token');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(api.stats().rejected.inactiveToken).toBe(1);
  });

  it('answers 403 insufficient_scope when the token lacks the required scope', async () => {
    const api = await startApi({ requiredScope: 'weather.write' });
    const res = await forecast(api, await newToken());
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('answers 503 when the IdP cannot be reached to validate the token', async () => {
    const api = await startApi({
      introspection: { url: 'http://127.0.0.1:1/introspect', clientId: 'x', clientSecret: 'y' },
    });
    const res = await forecast(api, 'any-token');
    expect(res.status).toBe(503);
    expect(api.stats().rejected.introspectionUnavailable).toBe(1);
  });
});

describe('flaky API, faults', () => {
  it('injects 5xx from the configured statuses', async () => {
    const api = await startApi({ profile: { name: 'errors', errorRate: 1, errorStatuses: [502] } });
    const res = await forecast(api, await newToken());
    expect(res.status).toBe(502);
    expect(api.stats().injected.error).toBe(1);
  });

  it('injects 429 with Retry-After', async () => {
    const api = await startApi({ profile: { rateLimitRate: 1, retryAfterSeconds: 3 } });
    const res = await forecast(api, await newToken());
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
  });

  it('injects a spurious 401 invalid_token for a valid token', async () => {
    const api = await startApi({ profile: { unauthorizedRate: 1 } });
    const token = await newToken();
    const res = await forecast(api, token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(api.stats().injected.unauthorized).toBe(1);
    expect(api.stats().lastTokenFingerprint).toBe(tokenFingerprint(token));
  });

  it('resets the connection without a response', async () => {
    const api = await startApi({ profile: { resetRate: 1 } });
    const failure = await forecast(api, await newToken()).then(
      () => undefined,
      (error: unknown) => error as Error & { cause?: { code?: string } },
    );
    expect(failure?.cause?.code).toBe('ECONNRESET');
    expect(api.stats().byStatus).toEqual({ reset: 1 });
  });

  it('when hard down, answers 503 to everything without validating tokens', async () => {
    const api = await startApi({ profile: { down: true } });
    const res = await forecast(api, await newToken());
    expect(res.status).toBe(503);
    expect(api.stats().introspection.requests).toBe(0);
  });

  it('mixes faults in the configured shares, repeatably for a seed', async () => {
    const profile = { errorRate: 0.2, rateLimitRate: 0.2, unauthorizedRate: 0.1 };
    const token = await newToken();
    const statusesOf = async (api: FlakyApi) => {
      const statuses: number[] = [];
      for (let i = 0; i < 200; i += 1) statuses.push((await forecast(api, token)).status);
      return statuses;
    };
    const first = await statusesOf(await startApi({ profile, seed: 99 }));
    const second = await statusesOf(await startApi({ profile, seed: 99 }));
    expect(second).toEqual(first);
    const share = (predicate: (status: number) => boolean) =>
      first.filter(predicate).length / first.length;
    expect(share((status) => status >= 500)).toBeGreaterThan(0.1);
    expect(share((status) => status >= 500)).toBeLessThan(0.3);
    expect(share((status) => status === 429)).toBeGreaterThan(0.1);
    expect(share((status) => status === 429)).toBeLessThan(0.3);
    expect(share((status) => status === 401)).toBeGreaterThan(0.03);
    expect(share((status) => status === 401)).toBeLessThan(0.2);
    expect(share((status) => status === 200)).toBeGreaterThan(0.35);
  });

  it('draws latency from a log-normal with the configured median and p99', () => {
    const random = seededRandom(1);
    const draws = Array.from({ length: 20_000 }, () => logNormal(random, 50, 400)).sort(
      (a, b) => a - b,
    );
    expect(percentile(draws, 50)).toBeGreaterThan(45);
    expect(percentile(draws, 50)).toBeLessThan(55);
    expect(percentile(draws, 99)).toBeGreaterThan(330);
    expect(percentile(draws, 99)).toBeLessThan(480);
    expect(logNormal(random, 0, 100)).toBe(0);
  });
});

describe('flaky API, admin routes', () => {
  it('refuses admin calls without the admin token', async () => {
    const api = await startApi();
    expect((await fetch(`${api.url}/admin/stats`)).status).toBe(401);
    expect(
      (await admin(api, 'GET', '/stats', undefined, 'wrong-admin-token-0123456789')).status,
    ).toBe(401);
    expect((await admin(api, 'PUT', '/profile', { errorRate: 1 }, 'nope')).status).toBe(401);
    expect(api.profile().errorRate).toBe(0);
  });

  it('changes the fault profile while running, and refuses an invalid one naming the field', async () => {
    const api = await startApi();
    const token = await newToken();
    expect((await forecast(api, token)).status).toBe(200);

    const set = await admin(api, 'PUT', '/profile', {
      name: 'all-503',
      errorRate: 1,
      errorStatuses: [503],
    });
    expect(set.status).toBe(200);
    expect(((await set.json()) as { name: string }).name).toBe('all-503');
    expect((await forecast(api, token)).status).toBe(503);

    const invalid = await admin(api, 'PUT', '/profile', { errorRate: 1.5 });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: string }).error).toContain('errorRate');
    const unknown = await admin(api, 'PUT', '/profile', { eror: 0.5 });
    expect(unknown.status).toBe(400);
    expect(api.profile().name).toBe('all-503');

    const stats = (await (await admin(api, 'GET', '/stats')).json()) as {
      profile: string;
      byStatus: Record<string, number>;
    };
    expect(stats.profile).toBe('all-503');
    expect(stats.byStatus).toEqual({ '200': 1, '503': 1 });
  });

  it('accepts only own, known profile fields: inherited names are unknown fields too', async () => {
    const api = await startApi();
    // Raw JSON text: as parsed by the admin route, `__proto__` is an own key of the body.
    const bodies = [
      '{"constructor":1}',
      '{"__proto__":{"errorRate":1}}',
      '{"toString":"x"}',
      '{"hasOwnProperty":0,"errorRate":1}',
      '{"valueOf":1}',
    ];
    for (const body of bodies) {
      const res = await fetch(`${api.url}/admin/profile`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body,
      });
      expect(res.status, body).toBe(400);
      const { error } = (await res.json()) as { error: string };
      const key = Object.keys(JSON.parse(body) as object)[0]!;
      expect(error, body).toContain(`unknown field "${key}"`);
      expect(error, body).toContain('allowed: name, errorRate');
    }
    expect(api.profile()).toEqual(faultProfile({}));
    expect(Object.getPrototypeOf(api.profile())).toBe(Object.prototype);
  });

  it('revokes at the IdP the token it last saw, so the next call gets a genuine 401', async () => {
    const logLines: string[] = [];
    const api = await startApi({}, logLines);
    const token = await newToken();
    expect((await forecast(api, token)).status).toBe(200);

    const revoked = await admin(api, 'POST', '/revoke-current-token');
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toEqual({ revoked: true, fingerprint: tokenFingerprint(token) });

    const after = await forecast(api, token);
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(api.stats().rejected.inactiveToken).toBe(1);

    const again = await admin(api, 'POST', '/revoke-current-token');
    expect(again.status).toBe(409);

    const log = logLines.join('\n');
    expect(log).toContain(tokenFingerprint(token));
    expect(log).not.toContain(token);
  });

  it('answers 502 when the IdP refuses the revocation, and the token stays valid', async () => {
    const api = await startApi({
      introspection: {
        url: fixture.idp.introspectionEndpoint,
        clientId: worker.clientId, // may introspect, but not revoke tokens of others
        clientSecret: worker.clientSecret,
        cacheTtlMs: 0,
      },
    });
    // The last token seen belongs to another client than the one the API authenticates as.
    const apiToken = await (async () => {
      const res = await fetch(fixture.idp.tokenEndpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${resourceServer.clientId}:${resourceServer.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      return ((await res.json()) as { access_token: string }).access_token;
    })();
    expect((await forecast(api, apiToken)).status).toBe(200);
    const refused = await admin(api, 'POST', '/revoke-current-token');
    expect(refused.status).toBe(502);
    expect((await refused.json()) as object).toMatchObject({ revoked: false });
    expect((await forecast(api, apiToken)).status).toBe(200);
  });

  it('close() drops requests waiting on injected latency and frees the port', async () => {
    const api = await startFlakyApi({
      introspection: {
        url: fixture.idp.introspectionEndpoint,
        clientId: resourceServer.clientId,
        clientSecret: resourceServer.clientSecret,
      },
      adminToken,
      profile: { latencyMedianMs: 60_000, latencyP99Ms: 60_000 },
    });
    const pending = forecast(api, await newToken()).then(
      (res) => res.status,
      () => 'dropped',
    );
    // The request has arrived once the API counts it.
    while (api.stats().requests === 0) await new Promise((resolve) => setImmediate(resolve));
    await api.close();
    expect(await pending).toBe('dropped');
    await expect(fetch(`${api.url}/healthz`)).rejects.toThrow();
  });

  it('rejects an admin token shorter than 16 characters at start', async () => {
    await expect(startApi({ adminToken: 'short' })).rejects.toThrow(/adminToken/);
  });
});

describe('faultProfile', () => {
  it('fills missing fields from the healthy profile', () => {
    expect(faultProfile({ errorRate: 0.5 })).toMatchObject({
      name: 'custom',
      errorRate: 0.5,
      rateLimitRate: 0,
      errorStatuses: [500, 502, 503],
      down: false,
    });
  });

  it('refuses rates that add up to more than 1', () => {
    expect(() => faultProfile({ errorRate: 0.6, rateLimitRate: 0.6 })).toThrow(/at most 1/);
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { FlakyApi } from '../../../src/apps/flaky-api.js';
import { adminToken, otherWorker, useFlakyApiFixture, worker } from './flaky-api-fixture.js';

const fixture = useFlakyApiFixture();

function forecast(api: FlakyApi, token: string): Promise<Response> {
  return fetch(`${api.url}/weatherforecast`, { headers: { authorization: `Bearer ${token}` } });
}

/** `n` requests at once: they arrive within milliseconds, far less than a refill. */
async function burst(api: FlakyApi, token: string, n: number): Promise<Response[]> {
  const responses = await Promise.all(Array.from({ length: n }, () => forecast(api, token)));
  await Promise.all(responses.map((res) => res.arrayBuffer()));
  return responses;
}

describe('flaky API, quota profile', () => {
  it('past the quota answers 429 with Retry-After and RateLimit headers, and counts both', async () => {
    const api = await fixture.startApi({ profile: { name: 'quota', quotaPerSecond: 4 } });
    const responses = await burst(api, await fixture.newToken(), 10);

    const accepted = responses.filter((res) => res.status === 200);
    const refused = responses.filter((res) => res.status === 429);
    expect(accepted).toHaveLength(4);
    expect(refused).toHaveLength(6);
    for (const res of responses) {
      expect(res.headers.get('ratelimit-policy')).toBe('"default";q=4;w=1');
    }
    expect(accepted.map((res) => res.headers.get('ratelimit')).sort()).toEqual([
      '"default";r=0;t=1',
      '"default";r=1;t=1',
      '"default";r=2;t=1',
      '"default";r=3;t=1',
    ]);
    for (const res of accepted) expect(res.headers.get('retry-after')).toBeNull();
    for (const res of refused) {
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(res.headers.get('ratelimit')).toMatch(/^"default";r=0;t=[1-9]\d*$/);
    }
    expect(api.stats().quota).toEqual({
      perSecond: 4,
      byClient: { [worker.clientId]: { accepted: 4, rateLimited: 6 } },
    });
    expect(api.stats().byStatus).toEqual({ '200': 4, '429': 6 });
  });

  it('accepts the client again once the Retry-After it gave has passed', async () => {
    const api = await fixture.startApi({ profile: { name: 'quota', quotaPerSecond: 1 } });
    const token = await fixture.newToken();
    expect((await forecast(api, token)).status).toBe(200);
    const refused = await forecast(api, token);
    expect(refused.status).toBe(429);
    await sleep(Number(refused.headers.get('retry-after')) * 1000);
    expect((await forecast(api, token)).status).toBe(200);
  });

  it('counts by the client the token belongs to: two tokens of one client share its quota, another client has its own', async () => {
    const api = await fixture.startApi({ profile: { name: 'quota', quotaPerSecond: 3 } });
    const [first, second, other] = await Promise.all([
      fixture.newToken(),
      fixture.newToken(),
      fixture.newToken(otherWorker),
    ]);
    const statuses = async (token: string, n: number) =>
      (await burst(api, token, n)).map((res) => res.status);
    expect(await statuses(first, 2)).toEqual([200, 200]);
    expect((await statuses(second, 3)).sort()).toEqual([200, 429, 429]);
    expect(await statuses(other, 3)).toEqual([200, 200, 200]);
    expect(api.stats().quota.byClient).toEqual({
      [worker.clientId]: { accepted: 3, rateLimited: 2 },
      [otherWorker.clientId]: { accepted: 3, rateLimited: 0 },
    });
  });

  it('without a quota sends no RateLimit headers and still counts each client', async () => {
    const api = await fixture.startApi();
    const [res] = await burst(api, await fixture.newToken(), 1);
    expect(res!.status).toBe(200);
    expect(res!.headers.get('ratelimit')).toBeNull();
    expect(res!.headers.get('ratelimit-policy')).toBeNull();
    expect(api.stats().quota).toEqual({
      perSecond: 0,
      byClient: { [worker.clientId]: { accepted: 1, rateLimited: 0 } },
    });
  });

  it('serves the quota counters on GET /admin/stats, and takes a quota through PUT /admin/profile', async () => {
    const api = await fixture.startApi();
    const put = await fetch(`${api.url}/admin/profile`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'quota', quotaPerSecond: 2 }),
    });
    expect(put.status).toBe(200);
    await burst(api, await fixture.newToken(), 3);
    const stats = await fetch(`${api.url}/admin/stats`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(((await stats.json()) as { quota: unknown }).quota).toEqual({
      perSecond: 2,
      byClient: { [worker.clientId]: { accepted: 2, rateLimited: 1 } },
    });
  });

  it('refuses a quota that is not a whole number of requests per second', async () => {
    const api = await fixture.startApi();
    const put = await fetch(`${api.url}/admin/profile`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ quotaPerSecond: 2.5 }),
    });
    expect(put.status).toBe(400);
    expect(((await put.json()) as { error: string }).error).toMatch(/quotaPerSecond/);
  });
});

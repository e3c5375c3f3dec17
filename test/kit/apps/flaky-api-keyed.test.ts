import { beforeAll, describe, expect, it } from 'vitest';
import { PHASE_HEADER, REQUEST_KEY_HEADER } from '../../../src/apps/fault-draw.js';
import type { FlakyApi, FlakyApiOptions } from '../../../src/apps/flaky-api.js';
import { useFlakyApiFixture } from './flaky-api-fixture.js';

/** Every kind of fault, and 200s with a drawn body. */
const MIXED = {
  name: 'mixed',
  errorRate: 0.25,
  rateLimitRate: 0.15,
  unauthorizedRate: 0.15,
  resetRate: 0.1,
  retryAfterSeconds: 0,
  latencyMedianMs: 1,
  latencyP99Ms: 5,
};

const fixture = useFlakyApiFixture();
let token: string;

beforeAll(async () => {
  token = await fixture.newToken();
});

function startApi(overrides: Partial<FlakyApiOptions> = {}): Promise<FlakyApi> {
  return fixture.startApi({ seed: 42, profile: MIXED, ...overrides });
}

/** What a request got: a status (with the drawn body of a 200), or `reset`. */
async function outcome(api: FlakyApi, headers: Record<string, string> = {}): Promise<string> {
  try {
    const res = await fetch(`${api.url}/weatherforecast`, {
      headers: { authorization: `Bearer ${token}`, ...headers },
    });
    if (res.status !== 200) {
      await res.arrayBuffer();
      return String(res.status);
    }
    // The dates follow the clock; the temperatures and summaries are drawn.
    const days = (await res.json()) as { temperatureC: number; summary: string }[];
    return `200 ${days.map((d) => `${d.temperatureC}/${d.summary}`).join(',')}`;
  } catch {
    return 'reset';
  }
}

/**
 * Calls `keys`, all at once, each with `attempts` requests in a row (a first attempt and its
 * retries); returns `key#attempt → outcome`.
 */
async function callAll(
  api: FlakyApi,
  keys: readonly string[],
  attempts: number,
): Promise<Record<string, string>> {
  const seen: Record<string, string> = {};
  await Promise.all(
    keys.map(async (key) => {
      for (let n = 0; n < attempts; n++) {
        seen[`${key}#${n}`] = await outcome(api, { [REQUEST_KEY_HEADER]: key });
      }
    }),
  );
  return seen;
}

const keys = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe('flaky API, draws keyed by x-steadfast-request-key', () => {
  it('gives the same seed and keys the same faults, latency and bodies, whatever the arrival order', async () => {
    const calls = keys('call-', 40);
    const first = await callAll(await startApi(), calls, 3);
    // Another API on the same seed, the calls in the opposite order and one at a time.
    const second: Record<string, string> = {};
    const other = await startApi();
    for (const key of [...calls].reverse()) Object.assign(second, await callAll(other, [key], 3));
    expect(second).toEqual(first);

    // A real mix, and each attempt of a call has its own draw (a retry is not a replay).
    const kinds = new Set(Object.values(first).map((o) => o.split(' ')[0]));
    expect([...kinds]).toEqual(expect.arrayContaining(['200', '429', '401', 'reset']));
    expect(calls.some((key) => first[`${key}#0`] !== first[`${key}#1`])).toBe(true);
  });

  it('gives different keys, or another seed, different faults', async () => {
    const api = await startApi();
    const a = Object.values(await callAll(api, keys('a-', 40), 1));
    const b = Object.values(await callAll(api, keys('b-', 40), 1));
    expect(b).not.toEqual(a);
    const reseeded = Object.values(await callAll(await startApi({ seed: 43 }), keys('a-', 40), 1));
    expect(reseeded).not.toEqual(a);
  });

  it('leaves requests without a key on the shared stream, in arrival order, as before', async () => {
    const unkeyed = async (api: FlakyApi, interleaveKeyed: boolean) => {
      const seen: string[] = [];
      for (let i = 0; i < 30; i++) {
        if (interleaveKeyed) await outcome(api, { [REQUEST_KEY_HEADER]: `k${i}` });
        seen.push(await outcome(api));
      }
      return seen;
    };
    const plain = await unkeyed(await startApi(), false);
    // Keyed requests in between do not consume the shared stream.
    expect(await unkeyed(await startApi(), true)).toEqual(plain);
    expect(new Set(plain).size).toBeGreaterThan(3);
  });

  it('refuses a key longer than 128 characters', async () => {
    const api = await startApi();
    expect(await outcome(api, { [REQUEST_KEY_HEADER]: 'k'.repeat(129) })).toBe('400');
  });
});

describe('flaky API, phases picked by x-steadfast-phase', () => {
  const phases = [
    { name: 'healthy' },
    { name: 'all-502', errorRate: 1, errorStatuses: [502] },
    { name: 'down', down: true },
  ];

  it('serves each request the phase it names, and the current profile without the header', async () => {
    const api = await startApi({ profile: { name: 'healthy' }, phases });
    expect((await outcome(api, { [PHASE_HEADER]: '0' })).split(' ')[0]).toBe('200');
    expect(await outcome(api, { [PHASE_HEADER]: '1' })).toBe('502');
    expect(await outcome(api, { [PHASE_HEADER]: '2' })).toBe('503');
    expect((await outcome(api)).split(' ')[0]).toBe('200');
    expect(api.stats().injected).toMatchObject({ error: 1, down: 1 });
    // The admin profile still applies to requests that name no phase.
    api.setProfile({ name: 'all-429', rateLimitRate: 1 });
    expect(await outcome(api)).toBe('429');
    expect(await outcome(api, { [PHASE_HEADER]: '1' })).toBe('502');
    expect(api.stats().profile).toBe('all-429');
  });

  it('refuses an unknown phase with 400', async () => {
    const api = await startApi({ phases });
    expect(await outcome(api, { [PHASE_HEADER]: '3' })).toBe('400');
    expect(await outcome(api, { [PHASE_HEADER]: 'storm' })).toBe('400');
  });

  it('ignores the header unless started with phases', async () => {
    const api = await startApi({ profile: { name: 'healthy' } });
    expect((await outcome(api, { [PHASE_HEADER]: '1' })).split(' ')[0]).toBe('200');
    expect((await outcome(api, { [PHASE_HEADER]: 'nonsense' })).split(' ')[0]).toBe('200');
  });
});

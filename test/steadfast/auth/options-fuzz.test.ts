/**
 * Every option of every auth factory, given every kind of wrong value: each attempt either
 * builds or throws `InvalidConfigurationError` naming that option (or the option it is
 * checked against), never another error type, never with a secret in the message; `null`
 * is never read as "the default"; unknown keys (typos) fail.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { redisTokenStore } from '../../../packages/redis/src/redis-token-store.js';
import { clientCredentials } from '../../../packages/steadfast/src/auth/index.js';
import { memoryTokenStore } from '../../../packages/steadfast/src/auth/store/memory.js';
import type { TokenStore } from '../../../packages/steadfast/src/auth/store/types.js';
import { InvalidConfigurationError } from '../../../packages/steadfast/src/errors.js';

const SECRET = 's3cr3t-fuzz-value';
const PASSWORD = 'pw-FUZZ-secret';
const KEY_HEX = randomBytes(32).toString('hex');

/** Values of every type and shape, wrong for most options. */
const VALUES: readonly unknown[] = [
  null,
  undefined,
  true,
  false,
  0,
  -1,
  0.5,
  1e12,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  -0,
  '',
  ' ',
  'x',
  '%zz',
  'a'.repeat(43),
  'a'.repeat(10_000),
  'http://u:p@h/x?y#z',
  'redis://127.0.0.1:1/abc',
  [],
  ['x'],
  [1],
  {},
  { toString: () => SECRET },
  () => {},
  new Uint8Array(31),
  new Date(0),
  Symbol('s'),
  10n,
];

type Outcome = { ok: true; value: unknown } | { ok: false; field: string; message: string };

function attempt(build: () => unknown): Outcome {
  try {
    return { ok: true, value: build() };
  } catch (error) {
    if (!(error instanceof InvalidConfigurationError)) {
      throw new Error(`untyped throw: ${String((error as Error)?.stack ?? error)}`);
    }
    return { ok: false, field: error.field, message: error.message };
  }
}

function expectNoSecret(message: string): void {
  for (const secret of [SECRET, PASSWORD, KEY_HEX]) expect(message).not.toContain(secret);
}

/** `field` is `key`, an element of it (`scope[1]`), or one of the options it is checked against. */
function namesKey(field: string, key: string, related: readonly string[] = []): boolean {
  return field === key || field.startsWith(`${key}[`) || related.includes(field);
}

const authBase = {
  tokenUrl: 'https://idp.example/token',
  clientId: 'worker',
  clientSecret: SECRET,
};

/** Options checked against another: a wrong value may be reported under that one. */
const AUTH_RELATED: Record<string, readonly string[]> = {
  tokenUrl: ['tokenUrl'],
  issuer: ['tokenUrl'],
  clientId: ['credential'],
  tokenEndpointTimeoutMs: ['leaseMs'],
  minSoftWindowMs: ['maxSoftWindowMs'],
  backoffMinMs: ['backoffMaxMs'],
  authCircuitCooldownMs: ['authCircuitMaxCooldownMs'],
};

const AUTH_KEYS = [
  'tokenUrl',
  'issuer',
  'clientId',
  'clientSecret',
  'clientAuthMethod',
  'scope',
  'audience',
  'resource',
  'credential',
  'store',
  'dispatcher',
  'defaultLifetimeMs',
  'maxLifetimeMs',
  'tokenEndpointTimeoutMs',
  'leaseMs',
  'hardSkewMs',
  'softWindowRatio',
  'minSoftWindowMs',
  'maxSoftWindowMs',
  'backoffMinMs',
  'backoffMaxMs',
  'configurationErrorBackoffMs',
  'storeBreakMs',
  'maxReauthorizations',
  'minTokenAgeMs',
  'authCircuitThreshold',
  'authCircuitWindowMs',
  'authCircuitCooldownMs',
  'authCircuitMaxCooldownMs',
  'logError',
];

const REDIS_KEYS = [
  'url',
  'clusterNodes',
  'client',
  'keyPrefix',
  'encryptionKey',
  'commandTimeoutMs',
  'connectTimeoutMs',
  'tls',
  'pubsub',
];

/** A refused port: a store that is built connects in the background and fails quietly. */
const REDIS_URL = 'redis://127.0.0.1:1';

async function closeStore(store: unknown): Promise<void> {
  await (store as TokenStore).detach();
}

describe('clientCredentials options fuzz', () => {
  it('builds or throws InvalidConfigurationError naming the option, for every option × value', async () => {
    let cases = 0;
    for (const key of AUTH_KEYS) {
      for (const value of VALUES) {
        cases += 1;
        const outcome = attempt(() => clientCredentials({ ...authBase, [key]: value } as never));
        if (outcome.ok) {
          // null is never "the default", and only undefined may stand for a missing option.
          expect(value, `${key}: ${String(value)} accepted`).not.toBeNull();
          await (outcome.value as { close(): Promise<void> }).close();
          continue;
        }
        expect(
          namesKey(outcome.field, key, AUTH_RELATED[key]),
          `${key} = ${String(typeof value === 'symbol' ? 'symbol' : value)} reported as ${outcome.field}`,
        ).toBe(true);
        expectNoSecret(outcome.message);
      }
    }
    expect(cases).toBeGreaterThan(800);
  });

  it('rejects null for every option instead of using the default', () => {
    for (const key of AUTH_KEYS) {
      const outcome = attempt(() => clientCredentials({ ...authBase, [key]: null } as never));
      expect(outcome.ok, key).toBe(false);
      if (!outcome.ok) expect(namesKey(outcome.field, key, AUTH_RELATED[key]), key).toBe(true);
    }
  });
});

describe('redisTokenStore options fuzz', () => {
  it('builds or throws InvalidConfigurationError naming the option, for every option × value', async () => {
    for (const key of REDIS_KEYS) {
      // The connection options replace `url`; the others come with it.
      const base = ['url', 'clusterNodes', 'client'].includes(key) ? {} : { url: REDIS_URL };
      for (const value of VALUES) {
        const outcome = attempt(() => redisTokenStore({ ...base, [key]: value } as never));
        if (outcome.ok) {
          expect(value, `${key}: ${String(value)} accepted`).not.toBeNull();
          await closeStore(outcome.value);
          continue;
        }
        // Without url/clusterNodes/client, "give exactly one" names `url`.
        const related = value === undefined && base !== undefined ? ['url'] : [];
        expect(
          namesKey(outcome.field, key, related),
          `${key} = ${String(typeof value === 'symbol' ? 'symbol' : value)} reported as ${outcome.field}`,
        ).toBe(true);
        expectNoSecret(outcome.message);
      }
    }
  });
});

describe('memoryTokenStore options fuzz', () => {
  it('accepts nothing or {} and rejects anything else with InvalidConfigurationError', async () => {
    for (const value of VALUES) {
      const outcome = attempt(() => memoryTokenStore(value as never));
      if (outcome.ok) {
        // Only "no options": undefined, or an object without keys.
        expect(value === undefined || Object.keys(value as object).length === 0).toBe(true);
        await closeStore(outcome.value);
      }
    }
    expect(attempt(() => memoryTokenStore({ keyPrefix: 'x:' } as never))).toMatchObject({
      ok: false,
      field: 'keyPrefix',
    });
  });
});

describe('factories called wrong', () => {
  it.each([
    ['clientCredentials()', () => clientCredentials(undefined as never), 'options'],
    ['clientCredentials(null)', () => clientCredentials(null as never), 'options'],
    ['clientCredentials("x")', () => clientCredentials('x' as never), 'options'],
    ['clientCredentials([])', () => clientCredentials([] as never), 'options'],
    ['redisTokenStore()', () => redisTokenStore(undefined as never), 'options'],
    ['redisTokenStore(null)', () => redisTokenStore(null as never), 'options'],
    ['redisTokenStore("redis://…")', () => redisTokenStore(REDIS_URL as never), 'options'],
    ['memoryTokenStore(null)', () => memoryTokenStore(null as never), 'options'],
  ])('%s throws InvalidConfigurationError', (_name, build, field) => {
    expect(attempt(build)).toMatchObject({ ok: false, field });
  });
});

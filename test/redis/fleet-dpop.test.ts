/**
 * DPoP across a fleet: 4 processes (test/redis/fixtures/dpop-worker.ts, each a real client)
 * sharing their token through a private redis-server, against oidc-provider with
 * `features.dPoP` and a resource server that checks every proof and its own nonce
 * (test/helpers/dpop-idp.ts). A DPoP token is bound to a key, so sharing the token means
 * sharing the key: with the store's `encryptionKey` the key travels with the token inside
 * the AES-256-GCM record (`keySharing: 'store'`); without one each instance keeps its own
 * key and gets its own token (`'instance'`). Both are measured here in token requests per
 * rotation (cold start, revocation); docs/tokens.md quotes the numbers.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisTokenStore } from '../../packages/redis/src/redis-token-store.js';
import { clientCredentials } from '../../packages/steadfast/src/auth/index.js';
import { InvalidConfigurationError } from '../../packages/steadfast/src/errors.js';
import { type DpopIdp, startDpopIdp } from '../helpers/dpop-idp.js';
import { usePrivateRedis } from '../helpers/redis.js';
import type { DpopCallsReport, DpopWorkerInit, DpopWorkerRequest } from './fixtures/dpop-worker.js';

const WORKER = fileURLToPath(new URL('./fixtures/dpop-worker.ts', import.meta.url));
const INSTANCES = 4;
const CALLERS = 20;
const ROTATIONS = 4;

interface Worker {
  readonly child: ChildProcess;
  ask<T>(request: DpopWorkerRequest): Promise<T>;
}

async function startWorker(): Promise<Worker> {
  const child = fork(WORKER, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (reply: Record<string, unknown>) => void>();
  let nextId = 0;
  child.on('message', (reply: Record<string, unknown>) => {
    if (typeof reply.id === 'number') pending.get(reply.id)?.(reply);
  });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('error', reject);
  });
  return {
    child,
    ask<T>(request: DpopWorkerRequest): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, (reply) => {
          pending.delete(id);
          if (reply.type === 'error') reject(new Error(`dpop worker: ${String(reply.message)}`));
          else resolve(reply as T);
        });
        child.send({ ...request, id });
      });
    },
  };
}

/** Sum of every instance's outcomes. */
function outcomes(reports: DpopCallsReport[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const r of reports)
    for (const [k, n] of Object.entries(r.outcomes)) sum[k] = (sum[k] ?? 0) + n;
  return sum;
}

describe('DPoP across 4 processes sharing a real Redis', () => {
  const redis = usePrivateRedis();
  let idp: DpopIdp;
  let workers: Worker[];
  const encryptionKey = randomBytes(32).toString('base64');
  /** What the docs quote: token requests per rotation, per key-sharing mode. */
  const measured: string[] = [];

  beforeAll(async () => {
    [idp, workers] = await Promise.all([
      startDpopIdp(),
      Promise.all(Array.from({ length: INSTANCES }, () => startWorker())),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(
      (workers ?? []).map(async (w) => {
        const exited = new Promise((resolve) => w.child.once('exit', resolve));
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 5000);
        await w.ask({ type: 'close' }).catch(() => w.child.kill('SIGKILL'));
        await exited;
        clearTimeout(timer);
      }),
    );
    await idp?.close();
    if (measured.length) console.log(`DPoP token requests per rotation:\n${measured.join('\n')}`);
  });

  async function init(
    keyPrefix: string,
    options: Partial<DpopWorkerInit> = {},
    server: DpopIdp = idp,
  ) {
    server.reset();
    const init: DpopWorkerInit = {
      apiUrl: server.apiUrl,
      redisUrl: redis.url,
      keyPrefix,
      auth: {
        tokenUrl: server.tokenEndpoint,
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        scope: 'data.read',
        dpop: true,
      },
      ...options,
    };
    await Promise.all(workers.map((w) => w.ask({ type: 'init', init })));
  }

  /** Every instance runs `CALLERS` callers at once; the reports of all. */
  async function run(
    perCaller: number,
    forMs?: number,
    { callers = CALLERS, pauseMs }: { callers?: number; pauseMs?: number } = {},
  ): Promise<DpopCallsReport[]> {
    const startAt = Date.now() + 100;
    const replies = await Promise.all(
      workers.map((w) =>
        w.ask<{ report: DpopCallsReport }>({
          type: 'calls',
          callers,
          perCaller,
          startAt,
          ...(forMs === undefined ? {} : { forMs }),
          ...(pauseMs === undefined ? {} : { pauseMs }),
        }),
      ),
    );
    return replies.map((r) => r.report);
  }

  /** The raw token records under `prefix`, as Redis holds them. */
  async function rawRecords(prefix: string): Promise<string[]> {
    const keys = (await redis.cli('--scan', '--pattern', `${prefix}tok:*`))
      .split('\n')
      .filter(Boolean);
    return Promise.all(keys.map(async (k) => (await redis.cli('GET', k)).trim()));
  }

  it("keySharing 'store' (encryptionKey): 4 × 20 calls at cold start → one token, one key; the key is never in clear", async () => {
    await init('dpop-store:', { encryptionKey });
    const reports = await run(1);
    expect(outcomes(reports)).toEqual({ '200': INSTANCES * CALLERS });
    expect(idp.tokensIssued()).toBe(1);
    // The IdP wants a nonce: the lease holder's first request is refused for it, once.
    expect(idp.tokenRequests().map((r) => r.error ?? r.status)).toEqual(['use_dpop_nonce', 200]);
    const accepted = idp.apiRequests().filter((r) => r.status === 200);
    expect(new Set(accepted.map((r) => r.jkt)).size).toBe(1); // every instance signs with one key
    expect(new Set(accepted.map((r) => r.instance)).size).toBe(INSTANCES);
    expect(new Set(idp.apiRequests().map((r) => r.jti)).size).toBe(idp.apiRequests().length);
    // Each instance paid the API's nonce round trip at most once per caller in flight.
    measured.push(
      `store (encryptionKey): cold start ${idp.tokensIssued()} token (${idp.tokenRequests().length} token-endpoint requests incl. the nonce round trip)`,
    );

    const records = await rawRecords('dpop-store:');
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record).toMatch(/^[\w-]{16}\|e1:[A-Za-z0-9+/=]+$/);
    expect(record).not.toContain('"d":');
    expect(record).not.toContain(idp.accessTokens()[0]!);
  }, 60_000);

  it('rotates the API nonce mid-load (4 × 20 callers) with 0 failed calls and no new token', async () => {
    await init('dpop-rotation:', { encryptionKey });
    await run(1); // warm: the token and both nonces
    idp.reset();
    // The strictest server: only its latest nonce is accepted (oidc-provider accepts a window
    // of them). A re-send that is itself caught by the next rotation would fail the call, so
    // rotations are a second apart: a call and its re-send take well under that here. Each
    // waits a second after the one before: timers all set at the start can fire together
    // after a stall of this process, two rotations ms apart.
    const load = run(0, ROTATIONS * 1000 + 500);
    for (let i = 1; i <= ROTATIONS; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      idp.rotateNonce();
    }
    const reports = await load;
    const calls = reports.reduce((n, r) => n + r.calls, 0);
    const refusals = idp.apiRequests().filter((r) => r.status !== 200);
    expect(outcomes(reports), JSON.stringify(refusals.slice(-20))).toEqual({ '200': calls });
    expect(calls).toBeGreaterThan(INSTANCES * CALLERS * 3);
    const challenged = idp.apiRequests().filter((r) => r.reason === 'use_dpop_nonce').length;
    // Each rotation costs each caller in flight at most one re-send.
    expect(challenged).toBeGreaterThan(0);
    expect(challenged).toBeLessThanOrEqual(ROTATIONS * INSTANCES * CALLERS);
    expect(idp.apiRequests().filter((r) => r.reason?.startsWith('invalid'))).toEqual([]);
    expect(idp.tokensIssued()).toBe(0);
    console.log(
      `nonce rotation mid-load: ${calls} calls, ${ROTATIONS} rotations, ${challenged} use_dpop_nonce re-sends, 0 failed`,
    );
  }, 60_000);

  it('a revoked DPoP token across 4 processes costs exactly one token request', async () => {
    await init('dpop-revoke:', { encryptionKey });
    await run(1);
    expect(idp.tokensIssued()).toBe(1);
    const [token] = idp.accessTokens().slice(-1);
    idp.reset();
    await idp.revoke(token!);
    const reports = await run(1);
    expect(outcomes(reports)).toEqual({ '200': INSTANCES * CALLERS });
    expect(idp.tokensIssued()).toBe(1);
    // At most one nonce round trip at the token endpoint (a new lease holder may not know it).
    expect(idp.tokenRequests().length).toBeLessThanOrEqual(2);
    expect(reports.reduce((n, r) => n + (r.fetches.success ?? 0), 0)).toBe(1);
    const refused = idp.apiRequests().filter((r) => r.reason === 'invalid_token').length;
    expect(refused).toBeGreaterThanOrEqual(INSTANCES);
    measured.push(
      `store (encryptionKey): revocation ${idp.tokensIssued()} token (${idp.tokenRequests().length} requests; ${refused} calls got invalid_token first)`,
    );
  }, 60_000);

  it("keySharing 'instance' (no encryptionKey): each instance its own key and token; no key in Redis", async () => {
    await init('dpop-instance:');
    const reports = await run(1);
    expect(outcomes(reports)).toEqual({ '200': INSTANCES * CALLERS });
    const cold = idp.tokensIssued();
    expect(cold).toBe(INSTANCES);
    const accepted = idp.apiRequests().filter((r) => r.status === 200);
    expect(new Set(accepted.map((r) => r.jkt)).size).toBe(INSTANCES);
    const records = await rawRecords('dpop-instance:');
    expect(records).toHaveLength(INSTANCES); // one credential key per instance key
    for (const record of records) {
      expect(record).toContain('"t":"DPoP"');
      expect(record).not.toContain('"k":');
      expect(record).not.toContain('"d":');
    }
    const coldRequests = idp.tokenRequests().length;

    const tokens = idp.accessTokens().slice(-INSTANCES);
    idp.reset();
    for (const token of tokens) await idp.revoke(token);
    const after = await run(1);
    expect(outcomes(after)).toEqual({ '200': INSTANCES * CALLERS });
    expect(idp.tokensIssued()).toBe(INSTANCES);
    measured.push(
      `instance (no encryptionKey): cold start ${cold} tokens (${coldRequests} requests), revocation ${idp.tokensIssued()} tokens (${idp.tokenRequests().length} requests)`,
    );
  }, 60_000);

  it('refreshes an 8 s token in its soft window: 1 token request per rotation with the key shared, 4 without', async () => {
    // 8 s tokens: never sent after 7.2 s, refreshed from 3.6 s on (docs/tokens.md, Timings).
    const shortLived = await startDpopIdp({ accessTokenTtlSeconds: 8 });
    try {
      const perMode: Record<string, number> = {};
      for (const [mode, options] of [
        ['store', { encryptionKey }],
        ['instance', {}],
      ] as const) {
        await init(`dpop-soft-${mode}:`, options, shortLived);
        const reports = await run(1, 5000, { callers: 2, pauseMs: 40 });
        const calls = reports.reduce((n, r) => n + r.calls, 0);
        expect(outcomes(reports)).toEqual({ '200': calls });
        const cold = mode === 'store' ? 1 : INSTANCES;
        perMode[mode] = shortLived.tokensIssued() - cold;
      }
      expect(perMode).toEqual({ store: 1, instance: INSTANCES });
      measured.push(
        `soft-window refresh of an 8 s token: store ${perMode.store} token, instance ${perMode.instance} tokens`,
      );
    } finally {
      await shortLived.close();
    }
  }, 60_000);

  it("refuses keySharing 'store' with a Redis store that has no encryptionKey, naming the option", () => {
    const plain = redisTokenStore({ url: redis.url, keyPrefix: 'dpop-refused:' });
    let error: unknown;
    try {
      clientCredentials({
        tokenUrl: idp.tokenEndpoint,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        store: plain,
        dpop: { keySharing: 'store' },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).field).toBe('dpop.keySharing');
    expect(plain.confidential).toBe(false);
    const sealed = redisTokenStore({ url: redis.url, keyPrefix: 'x:', encryptionKey });
    expect(sealed.confidential).toBe(true);
  });
});

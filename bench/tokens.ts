/**
 * Token benchmark (its results and targets: bench/RESULTS.md, "Tokens"):
 * 1. hot-path token acquire cost: the re-authorization strategy around a no-op `next`
 *    (peek L1, set the header) and the public `getToken()`, against a bare `Map.get`;
 * 2. Redis commands per call in steady state, from `INFO commandstats` before/after
 *    (target 0);
 * 3. token-endpoint requests per rotation for N instances sharing one Redis (cold start and
 *    revoke storm), against the same N instances each with its own in-memory store (the
 *    per-process pattern);
 * 4. what DPoP adds per wire attempt: signing one proof (with `ath`), per algorithm, against
 *    the Bearer strategy of 1 (`TOKENS_PROOFS` proofs per round).
 *
 *   node --import tsx bench/tokens.ts      (or: npm run bench -- tokens)
 *   TOKENS_CALLS=1000000 TOKENS_ROUNDS=5 TOKENS_INSTANCES=8 TOKENS_CONCURRENCY=100
 *
 * Real parts: a private redis-server (test/helpers/redis.ts), the oidc-provider IdP, the
 * fault gate and the introspecting resource server (test/helpers/oauth.ts). Instances are
 * in-process here (each with its own Redis connection, L1 and single flight); the test
 * suite runs the same scenarios with one process per instance.
 *
 * It measures the built package (dist/): `npm run build` first (`npm run bench` does).
 */

import { redisTokenStore } from '@steadfast/redis';
import { request } from 'undici';
import {
  type DpopAlgorithm,
  generateDpopKey,
} from '../packages/steadfast/dist/auth/dpop/dpop-key.js';
import { signDpopProof } from '../packages/steadfast/dist/auth/dpop/dpop-proof.js';
import { TokenEvents } from '../packages/steadfast/dist/auth/events.js';
import { clientCredentials, memoryTokenStore } from '../packages/steadfast/dist/auth/index.js';
import { requestClientCredentialsToken } from '../packages/steadfast/dist/auth/token-endpoint.js';
import { systemClock, TokenManager } from '../packages/steadfast/dist/auth/token-manager/index.js';
import { emptyBody } from '../packages/steadfast/dist/http/body.js';
import { ClientEvents } from '../packages/steadfast/dist/pipeline/client-events.js';
import type { CallContext, Outcome, Strategy } from '../packages/steadfast/dist/pipeline/types.js';
import { median } from '../src/loadtest/percentile.js';
import { startOAuthStack } from '../test/helpers/oauth.js';
import { startRedis } from '../test/helpers/redis.js';

const CALLS = Number(process.env.TOKENS_CALLS ?? 1_000_000);
const ROUNDS = Number(process.env.TOKENS_ROUNDS ?? 5);
const INSTANCES = Number(process.env.TOKENS_INSTANCES ?? 8);
const CONCURRENCY = Number(process.env.TOKENS_CONCURRENCY ?? 100);
const PROOFS = Number(process.env.TOKENS_PROOFS ?? 20_000);

const URL_ = new URL('http://127.0.0.1:1/data');
const OK: Outcome = {
  kind: 'response',
  response: { status: 200, headers: {}, body: undefined as never },
};

function context(): CallContext {
  return {
    client: 'bench',
    method: 'GET',
    url: URL_,
    origin: URL_.origin,
    operation: 'GET',
    path: '/data',
    headers: {},
    body: emptyBody,
    maxResponseBytes: 32 * 1024 * 1024,
    signal: undefined,
    attemptSignal: undefined,
    idempotent: true,
    startedAt: 0,
    deadline: Number.POSITIVE_INFINITY,
    attempt: 0,
    attempts: 0,
    retryStopReason: undefined,
    overrides: undefined,
    context: {},
    slots: new Map(),
  };
}

let sink: unknown;
function nsPerOpSync(fn: () => unknown, calls: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink = fn();
  return Number(process.hrtime.bigint() - started) / calls;
}

async function nsPerOpAsync(fn: () => Promise<unknown>, calls: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink = await fn();
  return Number(process.hrtime.bigint() - started) / calls;
}

async function main(): Promise<void> {
  const [stack, redis] = await Promise.all([startOAuthStack({ ttlSeconds: 3600 }), startRedis()]);
  const options = {
    tokenUrl: stack.tokenUrl,
    clientId: stack.client.clientId,
    clientSecret: stack.client.clientSecret,
    scope: stack.client.scope,
  };
  try {
    // ── 1 + 2: hot path and Redis commands per call ────────────────────────────
    const store = redisTokenStore({ url: redis.url, keyPrefix: 'bench:hot:' });
    const auth = clientCredentials({ ...options, store });
    const strategy: Strategy = auth.createStrategy(new ClientEvents());
    const next = async () => OK;
    await auth.getToken();
    // The manager alone, for the synchronous L1 read the strategy does first.
    store.attach();
    const manager = new TokenManager({
      credential: 'bench',
      key: 'bench-manager',
      store,
      events: new TokenEvents(),
      fetchToken: () =>
        requestClientCredentialsToken({
          tokenEndpoint: stack.tokenUrl,
          clientId: options.clientId,
          clientSecret: options.clientSecret,
          authMethod: 'client_secret_basic',
          scopes: [options.scope],
          audience: undefined,
          resource: undefined,
          timeoutMs: 10_000,
          limits: { defaultLifetimeMs: 300_000, maxLifetimeMs: 86_400_000 },
          dispatcher: undefined,
        }),
      timing: {
        hardSkewMs: 30_000,
        hardSkewRatio: 0.1,
        softWindowRatio: 0.2,
        minSoftWindowMs: 60_000,
        maxSoftWindowMs: 600_000,
      },
      leaseMs: 12_000,
      backoffMinMs: 1000,
      backoffMaxMs: 60_000,
      configurationErrorBackoffMs: 300_000,
      storeBreakMs: 5000,
      clock: systemClock,
      random: Math.random,
    });
    await manager.acquire();
    const map = new Map([['k', { value: 'token' }]]);
    const rows: Record<string, number[]> = {
      'Map.get (baseline, sync)': [],
      'TokenManager.peek(): L1 hit (sync)': [],
      'await async no-op (baseline, async)': [],
      'strategy.execute around a no-op next': [],
      'await auth.getToken()': [],
    };
    const before = await redis.commandStats();
    for (let round = 0; round <= ROUNDS; round++) {
      const results = [
        nsPerOpSync(() => map.get('k'), CALLS),
        nsPerOpSync(() => manager.peek(), CALLS),
        await nsPerOpAsync(next, CALLS),
        await nsPerOpAsync(() => strategy.execute(context(), next), CALLS),
        await nsPerOpAsync(() => auth.getToken(), CALLS),
      ];
      if (round === 0) continue; // warm-up
      Object.values(rows).forEach((values, i) => {
        values.push(results[i]!);
      });
    }
    const after = await redis.commandStats();
    const commands = Object.entries(after)
      .filter(([name]) => name !== 'info')
      .reduce((sum, [name, calls]) => sum + calls - (before[name] ?? 0), 0);
    const totalCalls = CALLS * (ROUNDS + 1) * 3;
    const baseline = median(rows['Map.get (baseline, sync)']!);
    console.log(
      `\n### Hot path: ${CALLS} calls x ${ROUNDS} rounds (+1 warm-up), token in L1, Redis store\n`,
    );
    console.log('| operation | ns/op (median) | ÷ Map.get | rounds |');
    console.log('| --- | --- | --- | --- |');
    for (const [name, values] of Object.entries(rows)) {
      const m = median(values);
      console.log(
        `| ${name} | ${m.toFixed(1)} | ${(m / baseline).toFixed(1)} | ${values.map((v) => v.toFixed(0)).join(', ')} |`,
      );
    }
    console.log(
      `\nRedis commands during ${totalCalls} token acquisitions: ${commands} (${(commands / totalCalls).toFixed(6)} per call; target 0)`,
    );
    manager.close();
    await auth.close();
    await store.detach();

    // ── 4: DPoP, one proof per wire attempt ────────────────────────────────────
    const bearer = median(rows['strategy.execute around a no-op next']!);
    const token = 'x'.repeat(43);
    console.log(`\n### DPoP proof per wire attempt: ${PROOFS} proofs x ${ROUNDS} rounds\n`);
    console.log('| algorithm | ns/proof (median) | ÷ Bearer strategy.execute | rounds |');
    console.log('| --- | --- | --- | --- |');
    for (const algorithm of ['ES256', 'EdDSA', 'RS256', 'PS256'] as DpopAlgorithm[]) {
      const key = generateDpopKey(algorithm);
      const sign = () =>
        signDpopProof(
          { htm: 'GET', url: URL_, nonce: 'n-1', accessToken: token, nowMs: Date.now() },
          key,
        );
      const values: number[] = [];
      for (let round = 0; round <= ROUNDS; round++) {
        const ns = nsPerOpSync(sign, PROOFS);
        if (round > 0) values.push(ns);
      }
      const m = median(values);
      console.log(
        `| ${algorithm} | ${m.toFixed(0)} | ${(m / bearer).toFixed(1)} | ${values.map((v) => v.toFixed(0)).join(', ')} |`,
      );
    }
    void sink;

    // ── 3: token-endpoint requests per rotation, N instances ───────────────────
    console.log(
      `\n### Token-endpoint requests per rotation: ${INSTANCES} instances x ${CONCURRENCY} concurrent calls\n`,
    );
    console.log('| store | cold start | revoke storm (every call gets 401) | failed calls |');
    console.log('| --- | --- | --- | --- |');
    for (const shared of [true, false]) {
      const fleet = Array.from({ length: INSTANCES }, (_, i) =>
        clientCredentials({
          ...options,
          store: shared
            ? redisTokenStore({ url: redis.url, keyPrefix: 'bench:fleet:' })
            : memoryTokenStore(),
          credential: `instance-${i}`,
        }),
      );
      const strategies = fleet.map((a) => a.createStrategy(new ClientEvents()));
      const call = async (s: Strategy) => {
        const ctx = { ...context(), url: new URL(`${stack.apiUrl}/data`) };
        const outcome = await s.execute(ctx, async (c) => {
          const res = await request(c.url, { headers: c.headers });
          return {
            kind: 'response',
            response: { status: res.statusCode, headers: res.headers, body: res.body as never },
          };
        });
        if (outcome.kind === 'response') await outcome.response.body.dump?.();
        return outcome.kind === 'response' && outcome.response.status === 200;
      };
      const wave = () =>
        Promise.all(strategies.flatMap((s) => Array.from({ length: CONCURRENCY }, () => call(s))));
      let start = stack.tokenRequests();
      const cold = await wave();
      const coldRequests = stack.tokenRequests() - start;
      await stack.idp.revokeAll();
      start = stack.tokenRequests();
      const storm = await wave();
      const stormRequests = stack.tokenRequests() - start;
      const failed = [...cold, ...storm].filter((ok) => !ok).length;
      console.log(
        `| ${shared ? 'Redis (shared)' : 'memory (per instance)'} | ${coldRequests} | ${stormRequests} | ${failed} |`,
      );
      await Promise.all(fleet.map((a) => a.close()));
      await stack.idp.revokeAll();
    }
  } finally {
    await Promise.all([stack.close(), redis.stop()]);
  }
}

await main();

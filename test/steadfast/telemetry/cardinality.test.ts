import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../../packages/steadfast/src/index.js';
import { renderMetrics } from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import { closedPort } from '../../helpers/http-server.js';
import { parseExposition } from './support.js';

// Statuses the server answers, picked by the caller through `?s=`: registered and odd ones.
const STATUSES = [200, 404, 503, 520, 299];

let server: Server;
let port: number;
let refusedPort: number;

beforeAll(async () => {
  // Listens on every address, so any 127.x.y.z host reaches it: thousands of distinct origins.
  server = createServer((req, res) => {
    const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('s') ?? 200);
    res.writeHead(status, { connection: 'close', 'content-length': '0' });
    res.end();
  });
  server.listen(0, '0.0.0.0');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  refusedPort = await closedPort();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const token = () => randomBytes(6).toString('hex');
const randomHost = () =>
  `127.${1 + (randomBytes(1)[0]! % 250)}.${randomBytes(1)[0]}.${1 + (randomBytes(1)[0]! % 250)}`;

async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

describe('cardinality', () => {
  it('does not grow with thousands of random paths, queries and hosts', async () => {
    const registry = createOpenMetricsRegistry();
    const client = createClient({
      name: 'crowd',
      baseUrl: `http://127.0.0.1:${port}`,
      retry: { maxRetries: 1, backoff: 'constant', jitter: false, baseDelayMs: 1, budget: false },
      circuitBreaker: false,
      telemetry: { tracing: false, metrics: { registry } },
    });
    const seen: string[] = [];
    const call = async (url: string) => {
      try {
        const res = await client.fetch(url);
        await res.arrayBuffer();
      } catch {
        // refused connections are part of the mix
      }
    };
    // Per round, every kind of call meets every status, so round one sees every label combination.
    const round = async (perKind: number) => {
      await pool(perKind, 32, async (i) => {
        const s = STATUSES[i % STATUSES.length];
        const path = `/users/${token()}/orders/${token()}`;
        const host = randomHost();
        const refusedHost = randomHost();
        seen.push(path, host, refusedHost);
        await call(`${path}?s=${s}&session=${token()}`);
        await call(`http://${host}:${port}${path}?s=${s}`);
        await call(`http://${refusedHost}:${refusedPort}${path}`);
      });
    };

    try {
      await round(100);
      const first = await renderMetrics(registry, 'text');
      const seriesAfterFirst = parseExposition(first).length;

      await round(1_000);
      const second = await renderMetrics(registry, 'text');
      const samples = parseExposition(second);

      expect(samples.length).toBe(seriesAfterFirst);
      expect(samples.length).toBeLessThan(2_000);
      // The calls did happen: 3,300 logical calls were counted.
      const calls = samples
        .filter((s) => s.name === 'steadfast_calls_total')
        .reduce((sum, s) => sum + s.value, 0);
      expect(calls).toBe(3_300);
      // Unknown hosts and odd statuses are folded into _OTHER; no path, query or host leaks.
      const addresses = new Set(samples.map((s) => s.labels.server_address).filter(Boolean));
      expect([...addresses].sort()).toEqual(['127.0.0.1', '_OTHER']);
      const statuses = new Set(
        samples.map((s) => s.labels.http_response_status_code).filter(Boolean),
      );
      expect([...statuses].sort()).toEqual(['200', '404', '503', '_OTHER']);
      expect(samples.some((s) => s.labels.error_type === 'ECONNREFUSED')).toBe(true);
      for (const value of seen.slice(0, 3_000)) expect(second).not.toContain(value);
      expect(second).not.toContain('session');
    } finally {
      await client.close();
    }
  }, 180_000); // 3,300 calls and 6,600 connections: slow on a loaded 2-core machine, never timed
});

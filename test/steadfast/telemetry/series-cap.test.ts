import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidConfigurationError } from '../../../packages/steadfast/src/errors.js';
import { createClient } from '../../../packages/steadfast/src/index.js';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import { seededRandom } from '../../../packages/steadfast/src/pipeline/seeded-random.js';
import type { CallContext, Outcome } from '../../../packages/steadfast/src/pipeline/types.js';
import {
  createTelemetry,
  FAMILY_NAMES,
  renderMetrics,
} from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import type { MetricsRegistry } from '../../../packages/steadfast/src/telemetry/types.js';
import { parseExposition, type Sample } from './support.js';

const ATTEMPTS = 'http_client_request_duration_seconds';
// Known methods, and methods semconv folds into _OTHER.
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PURGE', 'MKCOL'];
const ERROR_CODES = ['ECONNRESET', 'ECONNREFUSED', 'timeout', 'EWHATEVER', 'UND_ERR_SOCKET'];

/** The family a sample belongs to (histogram samples carry a suffix). */
function familyOf(sample: Sample): string {
  const base = sample.name.replace(/_(bucket|sum|count)$/, '');
  return (FAMILY_NAMES as readonly string[]).includes(base) ? base : sample.name;
}

function seriesPerFamily(samples: readonly Sample[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of samples) counts.set(familyOf(s), (counts.get(familyOf(s)) ?? 0) + 1);
  return counts;
}

const isOverflow = (s: Sample) =>
  Object.entries(s.labels).every(([name, value]) => name === 'le' || value === '_OTHER');

/** The attempt histogram's `_count` samples: total observations and those in the overflow series. */
function attemptCounts(samples: readonly Sample[]): { total: number; overflow: number } {
  const counts = samples.filter((s) => s.name === `${ATTEMPTS}_count`);
  return {
    total: counts.reduce((sum, s) => sum + s.value, 0),
    overflow: counts.filter(isOverflow).reduce((sum, s) => sum + s.value, 0),
  };
}

describe('series cap, fed the events of 30,000 attempts', () => {
  it('keeps every family within 2,000 series and records the rest in one all-_OTHER series', async () => {
    const registry = createOpenMetricsRegistry();
    const events = new ClientEvents();
    const origins = ['http://127.0.0.1:8080', 'http://127.0.0.2:8080'];
    const telemetry = createTelemetry(
      { tracing: false, metrics: { registry } },
      { client: 'fuzz', events, auth: undefined, origins, quotaLimitPerSecond: undefined },
    );
    const random = seededRandom(16);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const total = 30_000;
    try {
      for (let i = 0; i < total; i++) {
        const ctx = {
          client: 'fuzz',
          method: pick(METHODS),
          origin: pick([...origins, `http://10.0.${i % 256}.1:80`]),
          slots: new Map(),
          attempts: 1,
          signal: undefined,
        } as unknown as CallContext;
        let outcome: Outcome;
        let errorType: string | undefined;
        if (random() < 0.8) {
          const status = 100 + Math.floor(random() * 500); // 100..599, registered or not
          outcome = { kind: 'response', response: { status } } as unknown as Outcome;
          errorType = status >= 400 ? String(status) : undefined;
        } else {
          errorType = pick(ERROR_CODES);
          outcome = { kind: 'error', error: new Error(errorType) };
        }
        events.attemptEnd.emit({
          ctx,
          attempt: 0,
          outcome,
          durationMs: random() * 2000,
          errorType,
        });
      }
      const samples = parseExposition(await renderMetrics(registry, 'text'));
      const perFamily = seriesPerFamily(samples);
      for (const [family, count] of perFamily) {
        expect(count, family).toBeLessThanOrEqual(2_000);
      }
      // The cap did bite: without it this run makes ~11,000 attempt series.
      expect(perFamily.get(ATTEMPTS)).toBeGreaterThan(1_900);
      const { total: observed, overflow } = attemptCounts(samples);
      expect(observed).toBe(total); // nothing is dropped: what does not fit is in the overflow
      expect(overflow).toBeGreaterThan(0);
      expect(overflow).toBeLessThan(total);
      // Below the cap, label sets are themselves; statuses outside the registered set are _OTHER.
      const statuses = new Set(
        samples
          .filter((s) => s.name === `${ATTEMPTS}_count` && !isOverflow(s))
          .map((s) => s.labels.http_response_status_code)
          .filter((v) => v !== undefined),
      );
      expect(statuses.has('_OTHER')).toBe(true);
      for (const status of statuses) expect(status).toMatch(/^(\d{3}|_OTHER)$/);
      expect(statuses.has('299')).toBe(false);
    } finally {
      telemetry.dispose();
    }
  });
});

let server: Server;
let port: number;

beforeAll(async () => {
  // Answers the status asked for in `?s=`, whatever the method.
  server = createServer((req, res) => {
    const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('s') ?? 200);
    req.resume();
    res.writeHead(status, { 'content-length': '0' });
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('series cap, through a real client', () => {
  it('holds at the configured maxSeriesPerFamily with random methods and statuses', async () => {
    const registry = createOpenMetricsRegistry();
    const client = createClient({
      name: 'capped',
      baseUrl: `http://127.0.0.1:${port}`,
      retry: false,
      circuitBreaker: false,
      telemetry: { tracing: false, metrics: { registry, maxSeriesPerFamily: 200 } },
    });
    const random = seededRandom(3);
    const calls = 400;
    try {
      for (let i = 0; i < calls; i++) {
        const method = METHODS[Math.floor(random() * METHODS.length)]!;
        const status = 200 + Math.floor(random() * 400);
        const res = await client.fetch(`/x?s=${status}`, { method });
        await res.arrayBuffer();
      }
    } finally {
      await client.close();
    }
    const samples = parseExposition(await renderMetrics(registry, 'openmetrics'));
    for (const [family, count] of seriesPerFamily(samples)) {
      expect(count, family).toBeLessThanOrEqual(200);
    }
    const { total, overflow } = attemptCounts(samples);
    expect(total).toBe(calls);
    expect(overflow).toBeGreaterThan(0);
    // Other families of the same registry are untouched by the attempt histogram's overflow.
    const callCount = samples
      .filter((s) => s.name === 'steadfast_calls_total')
      .reduce((sum, s) => sum + s.value, 0);
    expect(callCount).toBe(calls);
  });

  it('is one cap per registry: a second client may repeat it but not change it', async () => {
    const registry: MetricsRegistry = createOpenMetricsRegistry();
    const make = (name: string, maxSeriesPerFamily?: number) =>
      createClient({
        name,
        baseUrl: `http://127.0.0.1:${port}`,
        telemetry: {
          tracing: false,
          metrics:
            maxSeriesPerFamily === undefined ? { registry } : { registry, maxSeriesPerFamily },
        },
      });
    const first = make('first', 500);
    const same = make('same', 500);
    const inherits = make('inherits');
    try {
      let error: unknown;
      try {
        make('other', 600);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidConfigurationError);
      expect((error as InvalidConfigurationError).field).toBe(
        'telemetry.metrics.maxSeriesPerFamily',
      );
    } finally {
      await Promise.all([first.close(), same.close(), inherits.close()]);
    }
  });
});

import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../../packages/steadfast/src/index.js';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import { createTelemetry, renderMetrics } from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import { parseExposition, sampleValue, useTelemetryHarness } from './support.js';

const h = useTelemetryHarness();
const { server, onCleanup } = h;

describe('circuit breaker decisions', () => {
  it('become span events and breaker metrics: transition to open, then short-circuited calls', async () => {
    const api = await server(() => ({ status: 503 }));
    const registry = createOpenMetricsRegistry();
    const client = createClient({
      name: 'fragile',
      baseUrl: api.url,
      retry: false,
      attemptTimeoutMs: 1_000,
      totalTimeoutMs: 5_000,
      circuitBreaker: {
        failureRatio: 0.5,
        minimumThroughput: 4,
        samplingDurationMs: 10_000,
        breakDurationMs: 60_000,
      },
      telemetry: { tracing: { tracerProvider: h.tracing.provider }, metrics: { registry } },
    });
    onCleanup(() => client.close());

    // Before any transition, every transition series exists at 0, so increase() sees the first.
    const before = parseExposition(await renderMetrics(registry, 'text'));
    for (const [from_state, to_state] of [
      ['closed', 'open'],
      ['open', 'half_open'],
      ['half_open', 'closed'],
      ['half_open', 'open'],
    ]) {
      expect(
        sampleValue(before, 'steadfast_circuit_breaker_transitions_total', {
          client: 'fragile',
          server_address: '127.0.0.1',
          from_state,
          to_state,
        }),
      ).toBe(0);
    }

    for (let i = 0; i < 4; i++) await (await client.fetch('/x')).arrayBuffer();
    await expect(client.fetch('/x')).rejects.toThrow(/circuit breaker/);

    const calls = h.tracing.spans().filter((s) => s.kind === SpanKind.INTERNAL);
    expect(calls).toHaveLength(5);
    const transition = calls
      .flatMap((c) => c.events)
      .find((e) => e.name === 'steadfast.circuit_breaker.transition');
    expect(transition?.attributes).toMatchObject({
      'steadfast.circuit_breaker.from_state': 'closed',
      'steadfast.circuit_breaker.to_state': 'open',
      'server.address': '127.0.0.1',
    });
    const rejected = calls[4]!;
    expect(rejected.events.map((e) => e.name)).toContain('steadfast.circuit_breaker.rejected');
    expect(rejected.attributes['error.type']).toBe('circuit_open');
    expect(rejected.attributes['steadfast.outcome']).toBe('rejected');
    expect(rejected.status.code).toBe(SpanStatusCode.ERROR);
    // A short-circuited attempt never reached the wire: no CLIENT span for it.
    expect(h.tracing.spans().filter((s) => s.kind === SpanKind.CLIENT)).toHaveLength(4);

    const samples = parseExposition(await renderMetrics(registry, 'text'));
    const where = { client: 'fragile', server_address: '127.0.0.1' };
    expect(
      sampleValue(samples, 'steadfast_circuit_breaker_state', { ...where, state: 'open' }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_circuit_breaker_state', { ...where, state: 'closed' }),
    ).toBe(0);
    expect(
      sampleValue(samples, 'steadfast_circuit_breaker_transitions_total', {
        ...where,
        from_state: 'closed',
        to_state: 'open',
      }),
    ).toBe(1);
    // The recovery series exists at 0 before the first recovery, so increase() counts it.
    expect(
      sampleValue(samples, 'steadfast_circuit_breaker_transitions_total', {
        ...where,
        from_state: 'half_open',
        to_state: 'closed',
      }),
    ).toBe(0);
    expect(sampleValue(samples, 'steadfast_circuit_breaker_not_permitted_calls_total', where)).toBe(
      1,
    );
    expect(
      sampleValue(samples, 'steadfast_calls_total', { client: 'fragile', kind: 'not_permitted' }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_calls_total', {
        client: 'fragile',
        kind: 'failed_without_retry',
      }),
    ).toBe(4);
    expect(
      sampleValue(samples, 'steadfast_call_duration_seconds_count', {
        client: 'fragile',
        outcome: 'rejected',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'steadfast_events_total', {
        client: 'fragile',
        strategy: 'circuit_breaker',
        event: 'opened',
        severity: 'error',
      }),
    ).toBe(1);
  });
});

describe('concurrency limiter decisions', () => {
  it('count a rejected call as not_permitted with error.type concurrency_limited', async () => {
    const api = await server([{ status: 200, delayMs: 100 }]);
    const registry = createOpenMetricsRegistry();
    const client = createClient({
      name: 'narrow',
      baseUrl: api.url,
      concurrency: { limit: 1, queue: 0 },
      telemetry: { tracing: { tracerProvider: h.tracing.provider }, metrics: { registry } },
    });
    onCleanup(() => client.close());

    const first = client.fetch('/slow');
    await expect(client.fetch('/second')).rejects.toThrow();
    await (await first).arrayBuffer();

    const samples = parseExposition(await renderMetrics(registry, 'text'));
    expect(
      sampleValue(samples, 'steadfast_calls_total', { client: 'narrow', kind: 'not_permitted' }),
    ).toBe(1);
    expect(sampleValue(samples, 'steadfast_concurrency_limit', { client: 'narrow' })).toBe(1);
    expect(sampleValue(samples, 'steadfast_concurrency_inflight_calls', { client: 'narrow' })).toBe(
      0,
    );
    expect(
      sampleValue(samples, 'steadfast_events_total', {
        client: 'narrow',
        strategy: 'concurrency_limiter',
        event: 'rejected',
        severity: 'error',
      }),
    ).toBe(1);
    const rejected = h.tracing
      .spans()
      .find((s) => s.attributes['error.type'] === 'concurrency_limited');
    expect(rejected?.kind).toBe(SpanKind.INTERNAL);
  });
});

describe('a caller abort', () => {
  it('is neither a success nor a failure in steadfast_calls_total', async () => {
    const api = await server(['hang']);
    const registry = createOpenMetricsRegistry();
    const client = createClient({
      name: 'patient',
      baseUrl: api.url,
      telemetry: { tracing: false, metrics: { registry } },
    });
    onCleanup(() => client.close());
    const controller = new AbortController();

    const pending = client.fetch('/', { signal: controller.signal });
    await api.waitForRequests(1);
    controller.abort();
    await expect(pending).rejects.toThrow();

    const samples = parseExposition(await renderMetrics(registry, 'text'));
    expect(samples.filter((s) => s.name === 'steadfast_calls_total')).toHaveLength(0);
    const attempts = samples.filter((s) => s.name === 'http_client_request_duration_seconds_count');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.labels.error_type).toBeUndefined();
  });
});

describe('disposal', () => {
  it('removes every listener it added, and shared token listeners only with the last client', async () => {
    const { TokenEvents } = await import('../../../packages/steadfast/src/auth/events.js');
    const tokenEvents = new TokenEvents();
    const auth = { credential: 'c', tokenEvents } as never;
    const registry = createOpenMetricsRegistry();
    const a = new ClientEvents();
    const b = new ClientEvents();
    const target = (events: ClientEvents, client: string) => ({
      client,
      events,
      auth,
      origins: [],
      quotaLimitPerSecond: undefined,
    });

    const ta = createTelemetry({ metrics: { registry } }, target(a, 'a'));
    const tb = createTelemetry({ metrics: { registry } }, target(b, 'b'));
    const listening = (events: object) =>
      Object.values(events).filter((e) => (e as { hasListeners: boolean }).hasListeners).length;
    expect(listening(a)).toBeGreaterThan(0);
    expect(tokenEvents.fetchEnd.hasListeners).toBe(true);
    // One token subscription for both clients: one fetch counts once.
    tokenEvents.fetchEnd.emit({
      credential: 'c',
      trigger: 'cold',
      result: 'success',
      errorType: undefined,
      durationMs: 5,
      fingerprint: 'f',
    });
    const samples = parseExposition(await renderMetrics(registry, 'text'));
    expect(
      sampleValue(samples, 'steadfast_token_fetches_total', { credential: 'c', result: 'success' }),
    ).toBe(1);

    ta.dispose();
    expect(listening(a)).toBe(0);
    expect(tokenEvents.fetchEnd.hasListeners).toBe(true);
    tb.dispose();
    expect(listening(b)).toBe(0);
    expect(listening(tokenEvents)).toBe(0);
  });
});

// A scripted run of the admission layers' events (rate limiter, fleet quota, cooldown), as
// their strategies emit them, with what every metric should read afterwards. Shared by the
// admission telemetry tests and the OpenTelemetry contract test.
import type { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import type { CallContext } from '../../../packages/steadfast/src/pipeline/types.js';

/** Scopes and partitions may be user data: neither may reach a label, attribute or span. */
export const SECRET_SCOPE = 'tenant-7f3a-secret';
export const OTHER_SCOPE = 'tenant-91bc-secret';

/** The quota's limit, permits per second, as the composition root passes it. */
export const QUOTA_LIMIT_PER_SECOND = 10;

/** A call context with what the listeners read (and a span slot map). */
export function admissionContext(client: string, slots = new Map<symbol, unknown>()): CallContext {
  return {
    client,
    method: 'GET',
    origin: 'http://127.0.0.1:1',
    attempt: 0,
    attempts: 0,
    slots,
  } as unknown as CallContext;
}

/**
 * Emit one of each thing the layers report. Afterwards:
 * - permits granted: rate_limiter 3 (weights 2 + 1), fleet_quota 1, cooldown 1;
 * - waits of granted attempts: rate_limiter 0 s and 0.15 s, fleet_quota 0.003 s, cooldown 1.2 s;
 * - refusals: rate_limiter max_wait, fleet_quota deadline (wait Infinity), cooldown max_wait;
 * - store leases: ok ×2 (10 and 25 permits), denied ×1, error ×1; one local-share lease (5);
 * - the quota fell back to its local share and rejoined (fallback 0 at the end);
 * - pauses: two started (retry_after, ratelimit), one ended after 2.1 s; one still on.
 */
export function emitAdmissionEvents(events: ClientEvents, ctx: CallContext): void {
  const client = ctx.client;
  const grant = (
    limiter: 'rate_limiter' | 'fleet_quota' | 'cooldown',
    permits: number,
    waitMs: number,
  ) => events.rateLimit.emit({ ctx, limiter, permits, waitMs, rejected: undefined });
  grant('rate_limiter', 2, 0);
  grant('rate_limiter', 1, 150);
  events.rateLimit.emit({
    ctx,
    limiter: 'rate_limiter',
    permits: 1,
    waitMs: 2500,
    rejected: 'max_wait',
  });
  grant('fleet_quota', 1, 3);
  events.rateLimit.emit({
    ctx,
    limiter: 'fleet_quota',
    permits: 1,
    waitMs: Number.POSITIVE_INFINITY,
    rejected: 'deadline',
  });
  grant('cooldown', 1, 1200);
  events.rateLimit.emit({
    ctx,
    limiter: 'cooldown',
    permits: 1,
    waitMs: 800,
    rejected: 'max_wait',
  });

  const lease = (
    requested: number,
    granted: number,
    result: 'ok' | 'denied' | 'error',
    source: string,
  ) => events.quotaLease.emit({ client, requested, granted, result, source, fleetSize: 3 });
  lease(10, 10, 'ok', 'redis');
  lease(40, 25, 'ok', 'redis');
  lease(40, 0, 'denied', 'redis');
  lease(40, 0, 'error', 'redis');
  events.quotaFallback.emit({ client, active: true, localLimit: 3, fleetSize: 3 });
  lease(5, 5, 'ok', 'local_share');
  events.quotaFallback.emit({ client, active: false, localLimit: 3, fleetSize: 3 });

  events.cooldown.emit({
    client,
    scope: SECRET_SCOPE,
    change: 'started',
    source: 'retry_after',
    durationMs: 2000,
  });
  events.cooldown.emit({
    client,
    scope: OTHER_SCOPE,
    change: 'started',
    source: 'ratelimit',
    durationMs: 1000,
  });
  events.cooldown.emit({
    client,
    scope: SECRET_SCOPE,
    change: 'ended',
    source: 'retry_after',
    durationMs: 2100,
  });
}

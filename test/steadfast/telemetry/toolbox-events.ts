// A scripted run of the toolbox strategies' events (hedging, fallback, adaptive concurrency),
// as their layers emit them, with what every metric should read afterwards. Shared by the
// toolbox telemetry tests and the OpenTelemetry contract test.
import type { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import type { CallContext } from '../../../packages/steadfast/src/pipeline/types.js';
import type {
  AdaptiveLimitBounds,
  ThrottleProbe,
} from '../../../packages/steadfast/src/telemetry/toolbox.js';

/** The client's configured origins: its `baseUrl` and a second endpoint of a hedging group. */
export const PRIMARY = 'http://127.0.0.1:1';
export const REPLICA = 'http://replica.test:8080';
export const TOOLBOX_ORIGINS = [PRIMARY, REPLICA];
/** An endpoint no configuration names: its host must never become a label. */
export const UNLISTED = 'http://unlisted-7f3a.test:9000';
/** A cache key may be user data: it must never reach a label, an attribute or a span. */
export const SECRET_KEY = 'GET /users/4711?token=cache-key-secret';

export const ADAPTIVE_BOUNDS: AdaptiveLimitBounds = {
  minLimit: 5,
  maxLimit: 200,
  initialLimit: 20,
};

/**
 * What the adaptive throttle's `counts()` gives: 127.0.0.1 refused with 0.25, two unlisted
 * hosts (one `_OTHER`: the higher, 0.75), replica.test not called yet (0).
 */
export const THROTTLE_PROBE: ThrottleProbe = () =>
  new Map([
    [PRIMARY, { probability: 0.25 }],
    [UNLISTED, { probability: 0.5 }],
    ['http://another-unlisted.test:81', { probability: 0.75 }],
  ]);

/** A call context with what the listeners read (and a span slot map). */
export function toolboxContext(
  client: string,
  slots = new Map<symbol, unknown>(),
  origin = PRIMARY,
): CallContext {
  return {
    client,
    method: 'GET',
    origin,
    path: SECRET_KEY.slice(4),
    attempt: 0,
    attempts: 1,
    slots,
  } as unknown as CallContext;
}

/**
 * Emit one of each thing the layers report. Afterwards:
 * - hedges sent: 127.0.0.1 delay 1; replica.test failure 1; _OTHER delay 1;
 *   skipped for the budget: delay 2;
 * - hedged calls: hedge won at replica.test 1, primary won at 127.0.0.1 1, none 1 (a call
 *   whose first attempt answered alone is not one); cancelled attempts 3;
 * - fallbacks: stale served on 503 (42 s old) and on circuit_open (1.5 s old), stale not
 *   served on timeout, handler served on rate_limited and on an unknown trigger (_OTHER);
 * - adaptive limit: 127.0.0.1 20 → 21 → 10 (one increase, one decrease), replica.test
 *   unchanged at 20 (an event without a change counts nothing), _OTHER 7 (one decrease);
 *   calls in flight: 127.0.0.1 3 (last report), replica.test 1;
 * - adaptive throttle: 3 attempts let through, 1 refused (throttled, wait Infinity).
 */
export function emitToolboxEvents(events: ClientEvents, ctx: CallContext): void {
  const client = ctx.client;
  const hedge = (
    index: number,
    origin: string,
    trigger: 'delay' | 'failure',
    skipped?: 'budget_exhausted',
  ) => events.hedge.emit({ ctx, hedge: index, origin, trigger, delayMs: 87.4, skipped });
  hedge(1, PRIMARY, 'delay');
  hedge(2, REPLICA, 'failure');
  hedge(1, PRIMARY, 'delay', 'budget_exhausted');
  hedge(1, UNLISTED, 'delay');
  hedge(2, REPLICA, 'delay', 'budget_exhausted');
  events.hedgeEnd.emit({ ctx, sent: 1, winner: 0, origin: PRIMARY, cancelled: 0 });
  events.hedgeEnd.emit({ ctx, sent: 2, winner: 1, origin: REPLICA, cancelled: 1 });
  events.hedgeEnd.emit({ ctx, sent: 3, winner: 0, origin: PRIMARY, cancelled: 2 });
  events.hedgeEnd.emit({ ctx, sent: 2, winner: undefined, origin: undefined, cancelled: 0 });

  events.fallback.emit({ ctx, kind: 'stale', trigger: '503', served: true, ageMs: 42_000 });
  events.fallback.emit({ ctx, kind: 'stale', trigger: 'circuit_open', served: true, ageMs: 1500 });
  events.fallback.emit({ ctx, kind: 'stale', trigger: 'timeout', served: false, ageMs: undefined });
  events.fallback.emit({
    ctx,
    kind: 'handler',
    trigger: 'rate_limited',
    served: true,
    ageMs: undefined,
  });
  events.fallback.emit({
    ctx,
    kind: 'handler',
    trigger: SECRET_KEY,
    served: true,
    ageMs: undefined,
  });

  const limit = (origin: string, previous: number, next: number) =>
    events.concurrencyLimit.emit({
      client,
      origin,
      algorithm: 'aimd',
      limit: next,
      previous,
    });
  limit(PRIMARY, 20, 21);
  limit(PRIMARY, 21, 10);
  limit(REPLICA, 20, 20);
  limit(UNLISTED, 8, 7);

  const replica = toolboxContext(client, new Map(), REPLICA);
  const report = (at: CallContext, inflight: number, rejected = false) =>
    events.limiter.emit({ client, inflight, limit: 10, rejected, ctx: at });
  report(ctx, 1);
  report(replica, 1);
  report(ctx, 4);
  report(ctx, 3);

  for (let i = 0; i < 3; i++) {
    events.rateLimit.emit({
      ctx,
      limiter: 'adaptive_throttle',
      permits: 1,
      waitMs: 0,
      rejected: undefined,
    });
  }
  events.throttle.emit({ ctx, probability: 0.25 });
  events.rateLimit.emit({
    ctx,
    limiter: 'adaptive_throttle',
    permits: 1,
    waitMs: Number.POSITIVE_INFINITY,
    rejected: 'throttled',
  });
}

import type { Attributes, ObservableCallback } from '@opentelemetry/api';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { Disposable } from '../../pipeline/event.js';
import { boundErrorType, OTHER } from '../attributes.js';
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS } from '../semconv.js';
import type { ToolboxLayers } from '../toolbox.js';
import { AttributeCache } from './attribute-cache.js';
import type { OtelInstruments } from './instruments.js';
import {
  ATTR_ADAPTIVE_LIMIT_BOUND,
  ATTR_ADAPTIVE_LIMIT_DIRECTION,
  ATTR_CLIENT,
  ATTR_FALLBACK_KIND,
  ATTR_FALLBACK_SERVED,
  ATTR_HEDGE_SKIP_REASON,
  ATTR_HEDGE_TRIGGER,
  ATTR_HEDGE_WINNER,
} from './keys.js';

const TRIGGERS = ['delay', 'failure'] as const;

/**
 * The OpenTelemetry twin of `subscribeToolboxMetrics`: the same events, counts and closed
 * vocabularies, as instruments. Only the events of the layers the client has are
 * subscribed; the adaptive limit and its bounds are observed when the meter collects.
 */
export function subscribeToolboxInstruments(
  events: ClientEvents,
  instruments: OtelInstruments,
  client: string,
  /** `server.address` of an origin: a configured one's host, else `_OTHER`. */
  addressOf: (origin: string) => string,
  /** The `server.address` of every configured origin. */
  addresses: readonly string[],
  layers: ToolboxLayers,
): Disposable[] {
  const clientOnly: Attributes = Object.freeze({ [ATTR_CLIENT]: client });
  const subscriptions: Disposable[] = [];
  const observe = (gauge: OtelInstruments['adaptiveLimit'], callback: ObservableCallback) => {
    gauge.addCallback(callback);
    subscriptions.push({ dispose: () => gauge.removeCallback(callback) });
  };

  if (layers.hedging) {
    const sent = new AttributeCache();
    const skipped = new AttributeCache();
    const won = new AttributeCache();
    const sentTo = (address: string, trigger: string): Attributes =>
      sent.get(address, trigger) ??
      sent.add(
        { [ATTR_CLIENT]: client, [ATTR_SERVER_ADDRESS]: address, [ATTR_HEDGE_TRIGGER]: trigger },
        address,
        trigger,
      );
    const skippedFor = (trigger: string, reason: string): Attributes =>
      skipped.get(trigger, reason) ??
      skipped.add(
        {
          [ATTR_CLIENT]: client,
          [ATTR_HEDGE_TRIGGER]: trigger,
          [ATTR_HEDGE_SKIP_REASON]: reason,
        },
        trigger,
        reason,
      );
    const wonBy = (address: string | undefined, winner: string): Attributes =>
      won.get(address, winner) ??
      won.add(
        address === undefined
          ? { [ATTR_CLIENT]: client, [ATTR_HEDGE_WINNER]: winner }
          : { [ATTR_CLIENT]: client, [ATTR_SERVER_ADDRESS]: address, [ATTR_HEDGE_WINNER]: winner },
        address,
        winner,
      );
    // At 0 from the start, as in Prometheus.
    for (const address of addresses) {
      for (const trigger of TRIGGERS) instruments.hedgesSent.add(0, sentTo(address, trigger));
      instruments.hedgedCalls.add(0, wonBy(address, 'primary'));
      instruments.hedgedCalls.add(0, wonBy(address, 'hedge'));
    }
    for (const trigger of TRIGGERS) {
      instruments.hedgesSkipped.add(0, skippedFor(trigger, 'budget_exhausted'));
    }
    instruments.hedgesCancelled.add(0, clientOnly);
    subscriptions.push(
      events.hedge.event((e) => {
        if (e.skipped === undefined) {
          instruments.hedgesSent.add(1, sentTo(addressOf(e.origin), e.trigger));
        } else {
          instruments.hedgesSkipped.add(1, skippedFor(e.trigger, e.skipped));
        }
      }),
      events.hedgeEnd.event((e) => {
        if (e.sent < 2) return;
        instruments.hedgedCalls.add(
          1,
          e.winner === undefined || e.origin === undefined
            ? wonBy(undefined, 'none')
            : wonBy(addressOf(e.origin), e.winner === 0 ? 'primary' : 'hedge'),
        );
        if (e.cancelled > 0) instruments.hedgesCancelled.add(e.cancelled, clientOnly);
      }),
    );
  }

  if (layers.fallback) {
    const fallbacks = new AttributeCache();
    subscriptions.push(
      events.fallback.event((e) => {
        const { kind, served } = e;
        const trigger = boundErrorType(e.trigger) ?? OTHER;
        instruments.fallbacks.add(
          1,
          fallbacks.get(kind, trigger, served) ??
            fallbacks.add(
              {
                [ATTR_CLIENT]: client,
                [ATTR_FALLBACK_KIND]: kind,
                [ATTR_ERROR_TYPE]: trigger,
                [ATTR_FALLBACK_SERVED]: served,
              },
              kind,
              trigger,
              served,
            ),
        );
        if (served && kind === 'stale' && e.ageMs !== undefined && Number.isFinite(e.ageMs)) {
          instruments.fallbackStaleAge.record(Math.max(0, e.ageMs) / 1000, clientOnly);
        }
      }),
    );
  }

  const bounds = layers.adaptiveConcurrency;
  if (bounds !== undefined) {
    const minBound = Object.freeze({ [ATTR_CLIENT]: client, [ATTR_ADAPTIVE_LIMIT_BOUND]: 'min' });
    const maxBound = Object.freeze({ [ATTR_CLIENT]: client, [ATTR_ADAPTIVE_LIMIT_BOUND]: 'max' });
    observe(instruments.adaptiveLimitBound, (result) => {
      result.observe(bounds.minLimit, minBound);
      result.observe(bounds.maxLimit, maxBound);
    });
    const byAddress = new AttributeCache();
    const changes = new AttributeCache();
    const addressAttributes = (address: string): Attributes =>
      byAddress.get(address) ??
      byAddress.add({ [ATTR_CLIENT]: client, [ATTR_SERVER_ADDRESS]: address }, address);
    const changed = (address: string, direction: string): Attributes =>
      changes.get(address, direction) ??
      changes.add(
        {
          [ATTR_CLIENT]: client,
          [ATTR_SERVER_ADDRESS]: address,
          [ATTR_ADAPTIVE_LIMIT_DIRECTION]: direction,
        },
        address,
        direction,
      );
    /** The latest limit of each origin; each configured one starts at the initial limit. */
    const limits = new Map<string, number>();
    for (const address of addresses) {
      limits.set(address, bounds.initialLimit);
      instruments.adaptiveLimitChanges.add(0, changed(address, 'increase'));
      instruments.adaptiveLimitChanges.add(0, changed(address, 'decrease'));
    }
    observe(instruments.adaptiveLimit, (result) => {
      for (const [address, limit] of limits) result.observe(limit, addressAttributes(address));
    });
    // Calls in flight per origin, as the limiter last reported them (twice per call).
    const inflight = new Map<string, number>();
    for (const address of addresses) inflight.set(address, 0);
    observe(instruments.adaptiveInflight, (result) => {
      for (const [address, n] of inflight) result.observe(n, addressAttributes(address));
    });
    subscriptions.push(
      events.limiter.event((e) => {
        if (e.ctx !== undefined) inflight.set(addressOf(e.ctx.origin), e.inflight);
      }),
      events.concurrencyLimit.event((e) => {
        const address = addressOf(e.origin);
        limits.set(address, e.limit);
        if (e.limit > e.previous)
          instruments.adaptiveLimitChanges.add(1, changed(address, 'increase'));
        else if (e.limit < e.previous) {
          instruments.adaptiveLimitChanges.add(1, changed(address, 'decrease'));
        }
      }),
    );
  }

  // The throttle's rejection probability per origin, read from it at collection (the
  // highest of the origins under one `server.address`).
  const probe = layers.throttleProbe;
  if (probe !== undefined) {
    const byAddress = new AttributeCache();
    /** Every `server.address` observed so far: one the throttle forgot reads 0 again. */
    const reported = new Set<string>(addresses);
    observe(instruments.throttleProbability, (result) => {
      const highest = new Map<string, number>();
      for (const address of reported) highest.set(address, 0);
      for (const [origin, { probability }] of probe()) {
        const address = addressOf(origin);
        const p = Number.isFinite(probability) ? Math.min(1, Math.max(0, probability)) : 0;
        highest.set(address, Math.max(highest.get(address) ?? 0, p));
      }
      for (const [address, p] of highest) {
        reported.add(address);
        result.observe(
          p,
          byAddress.get(address) ??
            byAddress.add({ [ATTR_CLIENT]: client, [ATTR_SERVER_ADDRESS]: address }, address),
        );
      }
    });
  }

  return subscriptions;
}

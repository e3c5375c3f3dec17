import type { Attributes, ObservableCallback } from '@opentelemetry/api';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { Disposable } from '../../pipeline/event.js';
import { type AdmissionLayers, emitsRateLimit } from '../admission.js';
import { AttributeCache } from './attribute-cache.js';
import type { OtelInstruments } from './instruments.js';
import {
  ATTR_CLIENT,
  ATTR_COOLDOWN_CHANGE,
  ATTR_COOLDOWN_SOURCE,
  ATTR_QUOTA_LEASE_RESULT,
  ATTR_RATE_LIMIT_REASON,
  ATTR_RATE_LIMITER,
} from './keys.js';

/**
 * The OpenTelemetry twin of `subscribeAdmissionMetrics`: the same events, counts and closed
 * vocabularies, as instruments. Only the events of the layers the client has are
 * subscribed; the quota and cooldown gauges are observed when the meter collects.
 */
export function subscribeAdmissionInstruments(
  events: ClientEvents,
  instruments: OtelInstruments,
  client: string,
  layers: AdmissionLayers,
): Disposable[] {
  const clientOnly: Attributes = Object.freeze({ [ATTR_CLIENT]: client });
  const subscriptions: Disposable[] = [];
  const observe = (
    gauge: OtelInstruments['quotaLimitPerSecond'],
    callback: ObservableCallback,
  ): void => {
    gauge.addCallback(callback);
    subscriptions.push({ dispose: () => gauge.removeCallback(callback) });
  };

  if (emitsRateLimit(layers)) {
    const byLimiter = new AttributeCache();
    const byReason = new AttributeCache();
    if (layers.adaptiveThrottle) {
      // Both series of the throttle's refused share at 0 from the start, as in Prometheus.
      const limiter = 'adaptive_throttle';
      instruments.rateLimitPermits.add(
        0,
        byLimiter.add({ [ATTR_CLIENT]: client, [ATTR_RATE_LIMITER]: limiter }, limiter),
      );
      instruments.rateLimitRejections.add(
        0,
        byReason.add(
          {
            [ATTR_CLIENT]: client,
            [ATTR_RATE_LIMITER]: limiter,
            [ATTR_RATE_LIMIT_REASON]: 'throttled',
          },
          limiter,
          'throttled',
        ),
      );
    }
    subscriptions.push(
      events.rateLimit.event((e) => {
        const { limiter, rejected: reason } = e;
        if (reason === undefined) {
          const attributes =
            byLimiter.get(limiter) ??
            byLimiter.add({ [ATTR_CLIENT]: client, [ATTR_RATE_LIMITER]: limiter }, limiter);
          instruments.rateLimitPermits.add(e.permits, attributes);
          instruments.rateLimitWait.record(e.waitMs / 1000, attributes);
        } else {
          instruments.rateLimitRejections.add(
            1,
            byReason.get(limiter, reason) ??
              byReason.add(
                {
                  [ATTR_CLIENT]: client,
                  [ATTR_RATE_LIMITER]: limiter,
                  [ATTR_RATE_LIMIT_REASON]: reason,
                },
                limiter,
                reason,
              ),
          );
        }
      }),
    );
  }

  const limitPerSecond = layers.quotaLimitPerSecond;
  if (limitPerSecond !== undefined) {
    let fallback = 0;
    observe(instruments.quotaLimitPerSecond, (result) =>
      result.observe(limitPerSecond, clientOnly),
    );
    observe(instruments.quotaFallbackActive, (result) => result.observe(fallback, clientOnly));
    const byResult = new AttributeCache();
    // Every result exists at 0 from the start, as in Prometheus.
    for (const result of ['ok', 'denied', 'error'] as const) {
      instruments.quotaStoreCommands.add(
        0,
        byResult.add({ [ATTR_CLIENT]: client, [ATTR_QUOTA_LEASE_RESULT]: result }, result),
      );
    }
    subscriptions.push(
      events.quotaLease.event((e) => {
        // A lease from the local share is no store command.
        if (e.source === 'local_share') return;
        const attributes = byResult.get(e.result);
        if (attributes) instruments.quotaStoreCommands.add(1, attributes);
        if (e.result === 'ok') instruments.quotaLeaseSize.record(e.granted, clientOnly);
      }),
      events.quotaFallback.event((e) => {
        fallback = e.active ? 1 : 0;
      }),
    );
  }

  if (layers.cooldown) {
    const byChange = new AttributeCache();
    /** The scopes paused now (kept here, never exported); observed from the first pause on. */
    const active = new Set<string>();
    let paused = false;
    observe(instruments.cooldownActiveScopes, (result) => {
      if (paused) result.observe(active.size, clientOnly);
    });
    subscriptions.push(
      events.cooldown.event((e) => {
        const { change, source } = e;
        if (!paused) {
          // From the first pause on, as in Prometheus: its end shows as an increase.
          paused = true;
          instruments.cooldownPaused.add(0, clientOnly);
        }
        instruments.cooldownTransitions.add(
          1,
          byChange.get(change, source) ??
            byChange.add(
              {
                [ATTR_CLIENT]: client,
                [ATTR_COOLDOWN_CHANGE]: change,
                [ATTR_COOLDOWN_SOURCE]: source,
              },
              change,
              source,
            ),
        );
        if (change === 'started') {
          active.add(e.scope);
        } else {
          active.delete(e.scope);
          if (Number.isFinite(e.durationMs) && e.durationMs > 0) {
            instruments.cooldownPaused.add(e.durationMs / 1000, clientOnly);
          }
        }
      }),
    );
  }

  return subscriptions;
}

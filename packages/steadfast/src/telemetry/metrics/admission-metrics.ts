import type { Counter, Histogram } from 'prom-client';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { Disposable } from '../../pipeline/event.js';
import { type AdmissionLayers, emitsRateLimit } from '../admission.js';
import {
  bindCounter,
  bindHistogram,
  type CounterSeries,
  type HistogramSeries,
} from './bound-series.js';
import type { Families } from './families.js';
import { LabelCache, type Labels } from './series-cap.js';

const LEASE_RESULTS = ['ok', 'denied', 'error'] as const;

/**
 * The admission layers' families for one client: permits, waits and refusals of the rate
 * limiter, the fleet quota and the cooldown; the quota's store leases, fallback and limit;
 * the cooldown's pauses. Only the events of the layers the client has are subscribed. Labels
 * come from closed vocabularies (limiter kind, refusal reason, lease result, cooldown change
 * and source); a cooldown's scope is never a label (it may be user data).
 */
export function subscribeAdmissionMetrics(
  events: ClientEvents,
  families: Families,
  client: string,
  layers: AdmissionLayers,
): Disposable[] {
  const { caps } = families;
  const counter =
    (family: Counter<string>) =>
    (labels: Labels): CounterSeries =>
      bindCounter(family, labels);
  const histogram =
    (family: Histogram<string>) =>
    (labels: Labels): HistogramSeries =>
      bindHistogram(family, labels);
  const subscriptions: Disposable[] = [];

  if (emitsRateLimit(layers)) {
    const permits = new LabelCache(caps.rateLimitPermits, counter(families.rateLimitPermits));
    const waits = new LabelCache(caps.rateLimitWait, histogram(families.rateLimitWait));
    const rejections = new LabelCache(
      caps.rateLimitRejections,
      counter(families.rateLimitRejections),
    );
    if (layers.adaptiveThrottle) {
      // The share the throttle refuses (a panel, an alert) reads both series: each exists at
      // 0 from the start, so a throttle that never refused reads 0, not nothing.
      const limiter = 'adaptive_throttle';
      permits.admit({ client, limiter }, limiter).inc(0);
      rejections.admit({ client, limiter, reason: 'throttled' }, limiter, 'throttled').inc(0);
    }
    subscriptions.push(
      events.rateLimit.event((e) => {
        const { limiter, rejected: reason } = e;
        if (reason === undefined) {
          (permits.get(limiter) ?? permits.admit({ client, limiter }, limiter)).inc(e.permits);
          (waits.get(limiter) ?? waits.admit({ client, limiter }, limiter)).observe(
            e.waitMs / 1000,
          );
        } else {
          (
            rejections.get(limiter, reason) ??
            rejections.admit({ client, limiter, reason }, limiter, reason)
          ).inc();
        }
      }),
    );
  }

  if (layers.quotaLimitPerSecond !== undefined) {
    families.quotaLimitPerSecond.set(
      caps.quotaLimitPerSecond.admit({ client }),
      layers.quotaLimitPerSecond,
    );
    const fallbackLabels = caps.quotaFallbackActive.admit({ client });
    families.quotaFallbackActive.set(fallbackLabels, 0);
    const leaseSize = bindHistogram(families.quotaLeaseSize, caps.quotaLeaseSize.admit({ client }));
    // Every result exists at 0 from the start: a counter series born at 1 shows no increase().
    const commands = new Map<string, CounterSeries>();
    for (const result of LEASE_RESULTS) {
      const labels = caps.quotaStoreCommands.admit({ client, result });
      commands.set(result, bindCounter(families.quotaStoreCommands, labels));
    }
    subscriptions.push(
      events.quotaLease.event((e) => {
        // A lease from the local share is no store command.
        if (e.source === 'local_share') return;
        commands.get(e.result)?.inc();
        if (e.result === 'ok') leaseSize.observe(e.granted);
      }),
      events.quotaFallback.event((e) => {
        families.quotaFallbackActive.set(fallbackLabels, e.active ? 1 : 0);
      }),
    );
  }

  if (layers.cooldown) {
    const transitions = new LabelCache(
      caps.cooldownTransitions,
      counter(families.cooldownTransitions),
    );
    let paused: CounterSeries | undefined;
    let activeLabels: Labels | undefined;
    /** The scopes paused now (kept here, never exported). */
    const active = new Set<string>();
    subscriptions.push(
      events.cooldown.event((e) => {
        const { change, source } = e;
        (
          transitions.get(change, source) ??
          transitions.admit({ client, change, source }, change, source)
        ).inc();
        // Made at the first pause, at 0, so the pause's end shows as an increase().
        paused ??= bindCounter(families.cooldownPaused, caps.cooldownPaused.admit({ client }));
        activeLabels ??= caps.cooldownActiveScopes.admit({ client });
        if (change === 'started') {
          active.add(e.scope);
        } else {
          active.delete(e.scope);
          // A NaN would stick in the counter for good.
          if (Number.isFinite(e.durationMs) && e.durationMs > 0) paused.inc(e.durationMs / 1000);
        }
        families.cooldownActiveScopes.set(activeLabels, active.size);
      }),
    );
  }

  return subscriptions;
}

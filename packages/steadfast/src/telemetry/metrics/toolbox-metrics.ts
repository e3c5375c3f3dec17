import type { ClientEvents } from '../../pipeline/client-events.js';
import type { Disposable } from '../../pipeline/event.js';
import { boundErrorType, OTHER } from '../attributes.js';
import type { ToolboxLayers } from '../toolbox.js';
import { bindCounter, bindHistogram, type CounterSeries } from './bound-series.js';
import type { Families, GaugeCollector } from './families.js';
import { LabelCache, type Labels } from './series-cap.js';

const TRIGGERS = ['delay', 'failure'] as const;

/**
 * The toolbox strategies' families for one client: hedges sent, skipped and cancelled and
 * which attempt won; fallbacks served or not and the age of stale responses; the adaptive
 * concurrency limit per origin, its bounds and its changes. Only the events of the layers
 * the client has are subscribed. Labels come from closed vocabularies (trigger, reason,
 * winner, kind, the `error_type` list, direction) and the client's configured origins
 * (`addressOf`, else `_OTHER`); never an index, a cache key or an age.
 */
export function subscribeToolboxMetrics(
  events: ClientEvents,
  families: Families,
  client: string,
  /** `server_address` of an origin: a configured one's host, else `_OTHER`. */
  addressOf: (origin: string) => string,
  /** The `server_address` of every configured origin. */
  addresses: readonly string[],
  layers: ToolboxLayers,
): Disposable[] {
  const { caps } = families;
  const subscriptions: Disposable[] = [];

  if (layers.hedging) {
    const sent = new LabelCache(caps.hedgesSent, (l) => bindCounter(families.hedgesSent, l));
    const skipped = new LabelCache(caps.hedgesSkipped, (l) =>
      bindCounter(families.hedgesSkipped, l),
    );
    const won = new LabelCache(caps.hedgedCalls, (l) => bindCounter(families.hedgedCalls, l));
    const sentTo = (server_address: string, trigger: string): CounterSeries =>
      sent.get(server_address, trigger) ??
      sent.admit({ client, server_address, trigger }, server_address, trigger);
    const wonBy = (server_address: string | undefined, winner: string): CounterSeries =>
      won.get(server_address, winner) ??
      won.admit(
        server_address === undefined ? { client, winner } : { client, server_address, winner },
        server_address,
        winner,
      );
    // Every series a ratio reads exists at 0 from the start (a series born at 1 shows no
    // increase()): hedges to each configured origin by trigger, skips, winners, cancels.
    for (const server_address of addresses) {
      for (const trigger of TRIGGERS) sentTo(server_address, trigger).inc(0);
      wonBy(server_address, 'primary').inc(0);
      wonBy(server_address, 'hedge').inc(0);
    }
    for (const trigger of TRIGGERS) {
      skipped
        .admit({ client, trigger, reason: 'budget_exhausted' }, trigger, 'budget_exhausted')
        .inc(0);
    }
    const cancelled = bindCounter(families.hedgesCancelled, caps.hedgesCancelled.admit({ client }));
    cancelled.inc(0);
    subscriptions.push(
      events.hedge.event((e) => {
        const { trigger, skipped: reason } = e;
        if (reason === undefined) {
          sentTo(addressOf(e.origin), trigger).inc();
        } else {
          (
            skipped.get(trigger, reason) ??
            skipped.admit({ client, trigger, reason }, trigger, reason)
          ).inc();
        }
      }),
      events.hedgeEnd.event((e) => {
        // A call whose first attempt answered before any hedge went is no hedged call.
        if (e.sent < 2) return;
        if (e.winner === undefined || e.origin === undefined) wonBy(undefined, 'none').inc();
        else wonBy(addressOf(e.origin), e.winner === 0 ? 'primary' : 'hedge').inc();
        if (e.cancelled > 0) cancelled.inc(e.cancelled);
      }),
    );
  }

  if (layers.fallback) {
    const fallbacks = new LabelCache(caps.fallbacks, (l) => bindCounter(families.fallbacks, l));
    let staleAge: ReturnType<typeof bindHistogram> | undefined;
    subscriptions.push(
      events.fallback.event((e) => {
        const { kind, served } = e;
        const trigger = boundErrorType(e.trigger) ?? OTHER;
        (
          fallbacks.get(kind, trigger, served) ??
          fallbacks.admit(
            { client, kind, trigger, served: served ? 'true' : 'false' },
            kind,
            trigger,
            served,
          )
        ).inc();
        if (served && kind === 'stale' && e.ageMs !== undefined && Number.isFinite(e.ageMs)) {
          staleAge ??= bindHistogram(
            families.fallbackStaleAge,
            caps.fallbackStaleAge.admit({ client }),
          );
          staleAge.observe(Math.max(0, e.ageMs) / 1000);
        }
      }),
    );
  }

  const bounds = layers.adaptiveConcurrency;
  if (bounds !== undefined) {
    families.adaptiveLimitBound.set(
      caps.adaptiveLimitBound.admit({ client, bound: 'min' }),
      bounds.minLimit,
    );
    families.adaptiveLimitBound.set(
      caps.adaptiveLimitBound.admit({ client, bound: 'max' }),
      bounds.maxLimit,
    );
    const limits = new LabelCache<Labels>(caps.adaptiveLimit, (l) => l);
    const changes = new LabelCache(caps.adaptiveLimitChanges, (l) =>
      bindCounter(families.adaptiveLimitChanges, l),
    );
    const limitOf = (server_address: string): Labels =>
      limits.get(server_address) ?? limits.admit({ client, server_address }, server_address);
    const changed = (server_address: string, direction: string): CounterSeries =>
      changes.get(server_address, direction) ??
      changes.admit({ client, server_address, direction }, server_address, direction);
    // Each configured origin starts at the initial limit, its changes at 0.
    for (const server_address of addresses) {
      families.adaptiveLimit.set(limitOf(server_address), bounds.initialLimit);
      changed(server_address, 'increase').inc(0);
      changed(server_address, 'decrease').inc(0);
    }
    subscriptions.push(
      events.concurrencyLimit.event((e) => {
        const server_address = addressOf(e.origin);
        families.adaptiveLimit.set(limitOf(server_address), e.limit);
        if (e.limit > e.previous) changed(server_address, 'increase').inc();
        else if (e.limit < e.previous) changed(server_address, 'decrease').inc();
      }),
    );

    // Calls in flight per origin: the limiter reports the origin's count twice per call, so
    // keep it in a field and hand it to the gauge when the registry is scraped.
    const inflightCap = new LabelCache<{ readonly labels: Labels; inflight: number }>(
      caps.adaptiveInflight,
      (labels) => ({ labels, inflight: 0 }),
    );
    const inflight = new Map<string, { readonly labels: Labels; inflight: number }>();
    const inflightOf = (server_address: string) => {
      let view = inflight.get(server_address);
      if (view === undefined) {
        view =
          inflightCap.get(server_address) ??
          inflightCap.admit({ client, server_address }, server_address);
        inflight.set(server_address, view);
      }
      return view;
    };
    for (const server_address of addresses) inflightOf(server_address);
    const collectors = families.gaugeCollectors;
    if (collectors) {
      const collect: GaugeCollector = (set) => {
        for (const view of inflight.values()) set(view.labels, view.inflight);
      };
      collectors.adaptiveInflight.add(collect);
      subscriptions.push({ dispose: () => collectors.adaptiveInflight.delete(collect) });
    } else {
      for (const view of inflight.values()) families.adaptiveInflight.set(view.labels, 0);
    }
    subscriptions.push(
      events.limiter.event((e) => {
        if (e.ctx === undefined) return;
        const view = inflightOf(addressOf(e.ctx.origin));
        view.inflight = e.inflight;
        if (!collectors) families.adaptiveInflight.set(view.labels, e.inflight);
      }),
    );
  }

  // The adaptive throttle's rejection probability per origin, read from the throttle when
  // the registry is scraped (an event comes only with a refusal, so a gauge set by events
  // would stay up after the backend recovered). Several origins under `_OTHER`: the highest.
  const probe = layers.throttleProbe;
  const collectors = families.gaugeCollectors;
  if (probe !== undefined && collectors) {
    const labels = new LabelCache<Labels>(caps.throttleProbability, (l) => l);
    const labelsOf = (server_address: string): Labels =>
      labels.get(server_address) ?? labels.admit({ client, server_address }, server_address);
    /** Every `server_address` reported so far: one the throttle forgot reads 0 again. */
    const reported = new Set<string>(addresses);
    const collect: GaugeCollector = (set) => {
      const highest = new Map<string, number>();
      for (const server_address of reported) highest.set(server_address, 0);
      for (const [origin, { probability }] of probe()) {
        const server_address = addressOf(origin);
        const p = Number.isFinite(probability) ? Math.min(1, Math.max(0, probability)) : 0;
        highest.set(server_address, Math.max(highest.get(server_address) ?? 0, p));
      }
      for (const [server_address, p] of highest) {
        reported.add(server_address);
        set(labelsOf(server_address), p);
      }
    };
    collectors.throttleProbability.add(collect);
    subscriptions.push({ dispose: () => collectors.throttleProbability.delete(collect) });
  }

  return subscriptions;
}

// `promtool check metrics` accepts the toolbox strategies' families (hedging, fallback,
// adaptive concurrency, adaptive throttle) with data in them.
// Needs Debian's `prometheus` package; fails (never skips) without it.
import { describe, expect, it } from 'vitest';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import { createTelemetry, renderMetrics } from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import { promtoolCheckMetrics } from '../../helpers/prometheus.js';
import { parseExposition } from './support.js';
import {
  ADAPTIVE_BOUNDS,
  emitToolboxEvents,
  THROTTLE_PROBE,
  TOOLBOX_ORIGINS,
  toolboxContext,
} from './toolbox-events.js';

describe('promtool check metrics on the toolbox families', () => {
  it('accepts every one of them, each with samples', async () => {
    const registry = createOpenMetricsRegistry();
    const events = new ClientEvents();
    const telemetry = createTelemetry(
      { tracing: false, metrics: { registry } },
      {
        client: 'weather',
        events,
        auth: undefined,
        origins: TOOLBOX_ORIGINS,
        quotaLimitPerSecond: undefined,
        rateLimiter: false,
        cooldown: false,
        hedging: true,
        fallback: true,
        adaptiveConcurrency: ADAPTIVE_BOUNDS,
        adaptiveThrottle: true,
        throttleProbe: THROTTLE_PROBE,
      },
    );
    try {
      emitToolboxEvents(events, toolboxContext('weather'));
      const text = await renderMetrics(registry, 'text');
      const families = new Set(
        parseExposition(text).map((s) => s.name.replace(/_(bucket|sum|count)$/, '')),
      );
      for (const family of [
        'steadfast_hedges_sent_total',
        'steadfast_hedges_skipped_total',
        'steadfast_hedged_calls_total',
        'steadfast_hedges_cancelled_total',
        'steadfast_fallbacks_total',
        'steadfast_fallback_stale_age_seconds',
        'steadfast_adaptive_concurrency_limit',
        'steadfast_adaptive_concurrency_limit_bound',
        'steadfast_adaptive_concurrency_limit_changes_total',
        'steadfast_adaptive_concurrency_inflight_calls',
        'steadfast_adaptive_throttle_rejection_probability',
        'steadfast_rate_limit_permits_total',
        'steadfast_rate_limit_rejections_total',
      ]) {
        expect(families.has(family), family).toBe(true);
      }
      // The text format: promtool reads OpenMetrics counters' HELP (named without _total)
      // as missing.
      const { status, output } = promtoolCheckMetrics(text);
      expect(output).toBe('');
      expect(status).toBe(0);
    } finally {
      telemetry.dispose();
    }
  });
});

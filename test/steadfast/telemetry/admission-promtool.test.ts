// `promtool check metrics` accepts the admission layers' families with data in them.
// Needs Debian's `prometheus` package; fails (never skips) without it.
import { describe, expect, it } from 'vitest';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import { createTelemetry, renderMetrics } from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import { promtoolCheckMetrics } from '../../helpers/prometheus.js';
import {
  admissionContext,
  emitAdmissionEvents,
  QUOTA_LIMIT_PER_SECOND,
} from './admission-events.js';
import { parseExposition } from './support.js';

describe('promtool check metrics on the admission families', () => {
  it('accepts every one of them, each with samples', async () => {
    const registry = createOpenMetricsRegistry();
    const events = new ClientEvents();
    const telemetry = createTelemetry(
      { tracing: false, metrics: { registry } },
      {
        client: 'weather',
        events,
        auth: undefined,
        origins: ['http://127.0.0.1:1'],
        quotaLimitPerSecond: QUOTA_LIMIT_PER_SECOND,
      },
    );
    try {
      emitAdmissionEvents(events, admissionContext('weather'));
      const text = await renderMetrics(registry, 'text');
      const families = new Set(
        parseExposition(text).map((s) => s.name.replace(/_(bucket|sum|count)$/, '')),
      );
      for (const family of [
        'steadfast_rate_limit_permits_total',
        'steadfast_rate_limit_wait_seconds',
        'steadfast_rate_limit_rejections_total',
        'steadfast_quota_lease_size',
        'steadfast_quota_store_commands_total',
        'steadfast_quota_fallback_active',
        'steadfast_quota_limit_per_second',
        'steadfast_cooldown_transitions_total',
        'steadfast_cooldown_paused_seconds_total',
        'steadfast_cooldown_active_scopes',
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

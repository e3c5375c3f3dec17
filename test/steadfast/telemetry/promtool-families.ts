// What the `promtool check metrics` tests of the metric families share: a client's
// telemetry on an OpenMetrics registry, scripted events, and the checks of the text
// exposition. Needs Debian's `prometheus` package; fails (never skips) without it.
import { expect } from 'vitest';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import { createTelemetry, renderMetrics } from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import { promtoolCheckMetrics } from '../../helpers/prometheus.js';
import { parseExposition } from './support.js';

type TelemetryContext = Parameters<typeof createTelemetry>[1];

/**
 * Build the telemetry of client `weather` with `context`, let `emit` script its events, and
 * expect every one of `families` to have samples and promtool to accept the exposition.
 */
export async function expectPromtoolAccepts(
  context: Omit<TelemetryContext, 'client' | 'events' | 'auth'>,
  emit: (events: ClientEvents) => void,
  families: readonly string[],
): Promise<void> {
  const registry = createOpenMetricsRegistry();
  const events = new ClientEvents();
  const telemetry = createTelemetry({ tracing: false, metrics: { registry } }, {
    client: 'weather',
    events,
    auth: undefined,
    ...context,
  } as TelemetryContext);
  try {
    emit(events);
    const text = await renderMetrics(registry, 'text');
    const present = new Set(
      parseExposition(text).map((s) => s.name.replace(/_(bucket|sum|count)$/, '')),
    );
    for (const family of families) expect(present.has(family), family).toBe(true);
    // The text format: promtool reads OpenMetrics counters' HELP (named without _total)
    // as missing.
    const { status, output } = promtoolCheckMetrics(text);
    expect(output).toBe('');
    expect(status).toBe(0);
  } finally {
    telemetry.dispose();
  }
}

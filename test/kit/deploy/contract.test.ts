// The metric list the dashboards and rules are checked against (dashboards/src/metrics.ts)
// is the one the SDK really registers: same names, types and label names, read from a real
// prom-client registry the SDK's own code filled.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SDK_METRICS } from '../../../dashboards/src/metrics.js';
import {
  FAMILY_NAMES,
  familiesFor,
} from '../../../packages/steadfast/src/telemetry/metrics/families.js';

describe('dashboards/src/metrics.ts matches the SDK', () => {
  const registry = new Registry();
  familiesFor(registry);

  it('lists exactly the families the SDK registers', () => {
    expect(SDK_METRICS.map((m) => m.name).sort()).toEqual([...FAMILY_NAMES].sort());
    const registered = registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .sort();
    expect(registered).toEqual([...FAMILY_NAMES].sort());
  });

  it('with the same type and label names for every family', () => {
    for (const family of SDK_METRICS) {
      const metric = registry.getSingleMetric(family.name) as unknown as
        | { type?: string; labelNames?: string[] }
        | undefined;
      expect(metric, family.name).toBeDefined();
      expect({ name: family.name, type: metric?.type }).toEqual({
        name: family.name,
        type: family.type,
      });
      expect({ name: family.name, labels: [...(metric?.labelNames ?? [])].sort() }).toEqual({
        name: family.name,
        labels: [...family.labels].sort(),
      });
    }
  });
});

import { describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/client-credentials.js';
import { buildCallPipeline } from '../../../packages/steadfast/src/call-pipeline.js';
import { resolveOptions } from '../../../packages/steadfast/src/config/validate.js';
import { ClientEvents } from '../../../packages/steadfast/src/pipeline/client-events.js';
import { memoryQuotaStore } from '../../../packages/steadfast/src/strategies/fleet-quota/memory-store.js';
import { NO_TELEMETRY } from '../support.js';

const names = (options: Parameters<typeof resolveOptions>[0]) =>
  buildCallPipeline(resolveOptions(options), new ClientEvents()).strategies.map((s) => s.name);

describe('the admission layers', () => {
  // Never contacted: the pipeline is only built.
  const auth = () =>
    clientCredentials({ tokenUrl: 'http://127.0.0.1:1/token', clientId: 'w', clientSecret: 's' });
  const base = {
    name: 'layers',
    baseUrl: 'http://127.0.0.1:1',
    telemetry: NO_TELEMETRY,
  };

  it('are absent unless configured', () => {
    const layers = names({ ...base, auth: auth() });
    for (const name of ['cooldown', 'rate_limiter', 'fleet_quota'])
      expect(layers).not.toContain(name);
  });

  it('sit inside retry and re-authorization (every wire attempt pays), above hooks and the breaker', () => {
    const layers = names({
      ...base,
      auth: auth(),
      hooks: { beforeRequest: () => {} },
      rateLimit: { limit: 10 },
      quota: { key: 'order', limit: 10, store: memoryQuotaStore() },
      cooldown: true,
    });
    expect(layers.slice(layers.indexOf('retry'), layers.indexOf('circuit_breaker') + 1)).toEqual([
      'retry',
      'reauthorize',
      'cooldown',
      'rate_limiter',
      'fleet_quota',
      'hooks',
      'circuit_breaker',
    ]);
  });

  it("without a shared store, use this process's, and name the pauses after the client", () => {
    const resolved = resolveOptions({ ...base, quota: { key: 'k', limit: 1 }, cooldown: true });
    if (!resolved.quota || !resolved.cooldown) throw new Error('both layers are configured');
    expect(resolved.quota.store.kind).toBe('memory');
    expect(resolved.cooldown.store.kind).toBe('memory');
    expect(resolved.cooldown.key).toBe('layers');
  });
});

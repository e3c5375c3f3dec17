import { type FlakyApi, startFlakyApi } from '../apps/flaky-api.js';
import { type Idp, startIdp } from '../apps/idp.js';
import type { Phase } from './types.js';

const WORKER = { clientId: 'loadtest-worker', clientSecret: 'loadtest-worker-secret' };
const RESOURCE_SERVER = { clientId: 'weather-api', clientSecret: 'weather-api-secret' };
const SCOPE = 'weather.read';

/**
 * The demo target of one run: a real IdP and the flaky API. The API knows the run's phases;
 * each request names its phase (`x-steadfast-phase`, from the call's schedule) and its
 * call (`x-steadfast-request-key`), so which call meets which fault does not depend on timing.
 */
export interface DemoTarget {
  readonly url: string;
  readonly auth: { tokenUrl: string; clientId: string; clientSecret: string; scope: string };
  readonly idp: Idp;
  readonly api: FlakyApi;
  close(): Promise<void>;
}

/** Start a fresh IdP and flaky API (fresh counters, the fault draws seeded with `seed`). */
export async function startDemoTarget(phases: readonly Phase[], seed: number): Promise<DemoTarget> {
  const idp = await startIdp({
    clients: [
      { ...WORKER, scopes: [SCOPE] },
      { ...RESOURCE_SERVER, mayRevokeAnyToken: true },
    ],
  });
  let api: FlakyApi;
  try {
    api = await startFlakyApi({
      introspection: {
        url: idp.introspectionEndpoint,
        clientId: RESOURCE_SERVER.clientId,
        clientSecret: RESOURCE_SERVER.clientSecret,
      },
      revocationUrl: idp.revocationEndpoint,
      adminToken: 'loadtest-admin-token-0123456789',
      requiredScope: SCOPE,
      profile: phases[0]?.profile ?? { name: 'healthy' },
      ...(phases.length > 1 ? { phases: phases.map((phase) => phase.profile) } : {}),
      seed,
    });
  } catch (error) {
    await idp.close();
    throw error;
  }
  return {
    url: `${api.url}/weatherforecast`,
    auth: { tokenUrl: idp.tokenEndpoint, ...WORKER, scope: SCOPE },
    idp,
    api,
    async close() {
      await api.close();
      await idp.close();
    },
  };
}

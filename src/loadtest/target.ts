import { type FlakyApi, startFlakyApi } from '../apps/flaky-api.js';
import { type Idp, startIdp } from '../apps/idp.js';
import type { Phase } from './types.js';

const WORKER = { clientId: 'loadtest-worker', clientSecret: 'loadtest-worker-secret' };
const RESOURCE_SERVER = { clientId: 'weather-api', clientSecret: 'weather-api-secret' };
const SCOPE = 'weather.read';

/** The demo target of one run: a real IdP and the flaky API, with phases on a timer. */
export interface DemoTarget {
  readonly url: string;
  readonly auth: { tokenUrl: string; clientId: string; clientSecret: string; scope: string };
  readonly idp: Idp;
  readonly api: FlakyApi;
  /** Start switching profiles at each phase's start, relative to now. */
  startPhases(): void;
  close(): Promise<void>;
}

/** Start a fresh IdP and flaky API (fresh counters, the fault RNG seeded with `seed`). */
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
      seed,
    });
  } catch (error) {
    await idp.close();
    throw error;
  }
  const timers: NodeJS.Timeout[] = [];
  return {
    url: `${api.url}/weatherforecast`,
    auth: { tokenUrl: idp.tokenEndpoint, ...WORKER, scope: SCOPE },
    idp,
    api,
    startPhases() {
      for (const phase of phases.slice(1)) {
        timers.push(setTimeout(() => api.setProfile(phase.profile), phase.startMs));
      }
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      await api.close();
      await idp.close();
    },
  };
}

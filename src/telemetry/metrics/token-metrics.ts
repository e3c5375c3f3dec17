import type { TokenEvents } from '../../auth/events.js';
import type { Disposable } from '../../pipeline/event.js';
import { boundErrorType, OTHER } from '../attributes.js';
import type { Families } from './families.js';

/**
 * Token families of one token manager. Subscribed once per token manager and registry
 * (see `shared.ts`), so clients sharing an `Authorization` never double-count.
 */
export function subscribeTokenMetrics(events: TokenEvents, families: Families): Disposable[] {
  return [
    events.fetchEnd.event((e) => {
      const labels: Record<string, string> = { credential: e.credential, result: e.result };
      if (e.result === 'failure') labels.error_type = boundErrorType(e.errorType) ?? OTHER;
      families.tokenFetches.inc(labels);
      families.tokenFetchDuration.observe(
        { credential: e.credential, result: e.result },
        e.durationMs / 1000,
      );
    }),
    events.cacheLookup.event((e) => {
      families.tokenLookups.inc({ credential: e.credential, level: e.level, result: e.result });
    }),
    events.invalidation.event((e) => {
      families.tokenInvalidations.inc({ credential: e.credential, result: e.result });
    }),
    events.tokenInUse.event((e) => {
      families.tokenExpiry.set({ credential: e.credential }, e.expiresAtMs / 1000);
    }),
    events.storeState.event((e) => {
      families.tokenStoreUp.set({ credential: e.credential }, e.up ? 1 : 0);
    }),
  ];
}

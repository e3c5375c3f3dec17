import type { TokenEvents } from '../../auth/events.js';
import type { Disposable } from '../../pipeline/event.js';
import { boundErrorType, OTHER } from '../attributes.js';
import type { Families } from './families.js';
import { LabelCache } from './series-cap.js';

/**
 * Token families of one token manager. Subscribed once per token manager and registry
 * (see `shared.ts`), so clients sharing an `Authorization` never double-count. Label sets
 * are admitted under each family's series cap once and then reused (see `series-cap.ts`).
 */
export function subscribeTokenMetrics(events: TokenEvents, families: Families): Disposable[] {
  const { caps } = families;
  const fetches = new LabelCache(caps.tokenFetches);
  const fetchDurations = new LabelCache(caps.tokenFetchDuration);
  const lookups = new LabelCache(caps.tokenLookups);
  const invalidations = new LabelCache(caps.tokenInvalidations);
  const expiries = new LabelCache(caps.tokenExpiry);
  const storeUps = new LabelCache(caps.tokenStoreUp);
  return [
    events.fetchEnd.event((e) => {
      const { credential, result } = e;
      const errorType = result === 'failure' ? (boundErrorType(e.errorType) ?? OTHER) : undefined;
      families.tokenFetches.inc(
        fetches.get(credential, result, errorType) ??
          fetches.admit(
            errorType === undefined
              ? { credential, result }
              : { credential, result, error_type: errorType },
            credential,
            result,
            errorType,
          ),
      );
      families.tokenFetchDuration.observe(
        fetchDurations.get(credential, result) ??
          fetchDurations.admit({ credential, result }, credential, result),
        e.durationMs / 1000,
      );
    }),
    events.cacheLookup.event((e) => {
      const { credential, level, result } = e;
      families.tokenLookups.inc(
        lookups.get(credential, level, result) ??
          lookups.admit({ credential, level, result }, credential, level, result),
      );
    }),
    events.invalidation.event((e) => {
      const { credential, result } = e;
      families.tokenInvalidations.inc(
        invalidations.get(credential, result) ??
          invalidations.admit({ credential, result }, credential, result),
      );
    }),
    events.tokenInUse.event((e) => {
      const { credential } = e;
      families.tokenExpiry.set(
        expiries.get(credential) ?? expiries.admit({ credential }, credential),
        e.expiresAtMs / 1000,
      );
    }),
    events.storeState.event((e) => {
      const { credential } = e;
      families.tokenStoreUp.set(
        storeUps.get(credential) ?? storeUps.admit({ credential }, credential),
        e.up ? 1 : 0,
      );
    }),
  ];
}

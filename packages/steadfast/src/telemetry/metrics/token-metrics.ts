import type { TokenEvents } from '../../auth/events.js';
import type { Disposable } from '../../pipeline/event.js';
import { boundErrorType, OTHER } from '../attributes.js';
import { bindCounter, bindHistogram } from './bound-series.js';
import type { Families } from './families.js';
import { LabelCache, type Labels } from './series-cap.js';

/**
 * Token families of one token manager. Subscribed once per token manager and registry
 * (see `shared.ts`), so clients sharing an `Authorization` never double-count. Label sets
 * are admitted under each family's series cap once and then reused (see `series-cap.ts`).
 */
export function subscribeTokenMetrics(events: TokenEvents, families: Families): Disposable[] {
  const { caps } = families;
  const same = (labels: Labels): Labels => labels;
  const fetches = new LabelCache(caps.tokenFetches, (l) => bindCounter(families.tokenFetches, l));
  const fetchDurations = new LabelCache(caps.tokenFetchDuration, (l) =>
    bindHistogram(families.tokenFetchDuration, l),
  );
  const lookups = new LabelCache(caps.tokenLookups, (l) => bindCounter(families.tokenLookups, l));
  const invalidations = new LabelCache(caps.tokenInvalidations, (l) =>
    bindCounter(families.tokenInvalidations, l),
  );
  const expiries = new LabelCache(caps.tokenExpiry, same);
  const storeUps = new LabelCache(caps.tokenStoreUp, same);
  return [
    events.fetchEnd.event((e) => {
      const { credential, result } = e;
      const errorType = result === 'failure' ? (boundErrorType(e.errorType) ?? OTHER) : undefined;
      (
        fetches.get(credential, result, errorType) ??
        fetches.admit(
          errorType === undefined
            ? { credential, result }
            : { credential, result, error_type: errorType },
          credential,
          result,
          errorType,
        )
      ).inc();
      (
        fetchDurations.get(credential, result) ??
        fetchDurations.admit({ credential, result }, credential, result)
      ).observe(e.durationMs / 1000);
    }),
    events.cacheLookup.event((e) => {
      const { credential, level, result } = e;
      (
        lookups.get(credential, level, result) ??
        lookups.admit({ credential, level, result }, credential, level, result)
      ).inc();
    }),
    events.invalidation.event((e) => {
      const { credential, result } = e;
      (
        invalidations.get(credential, result) ??
        invalidations.admit({ credential, result }, credential, result)
      ).inc();
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

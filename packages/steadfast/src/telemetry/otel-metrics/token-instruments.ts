import type { Attributes, ObservableCallback } from '@opentelemetry/api';
import type { TokenEvents } from '../../auth/events.js';
import type { Disposable } from '../../pipeline/event.js';
import { boundErrorType, OTHER } from '../attributes.js';
import { ATTR_ERROR_TYPE } from '../semconv.js';
import { AttributeCache } from './attribute-cache.js';
import type { OtelInstruments } from './instruments.js';
import {
  ATTR_CREDENTIAL,
  ATTR_TOKEN_CACHE_LEVEL,
  ATTR_TOKEN_CACHE_RESULT,
  ATTR_TOKEN_INVALIDATION_RESULT,
  ATTR_TOKEN_RESULT,
} from './keys.js';

/** The latest value of a per-credential gauge, with the attributes it is observed with. */
interface Reading {
  readonly attributes: Attributes;
  value: number;
}

/**
 * The OpenTelemetry twin of `subscribeTokenMetrics`: token instruments of one token
 * manager. Subscribed once per token manager and meter (see `../shared.ts`), so clients
 * sharing an `Authorization` never double-count. The expiry and store gauges are read when
 * the meter collects; an event only writes the latest value.
 */
export function subscribeTokenInstruments(
  events: TokenEvents,
  instruments: OtelInstruments,
): Disposable[] {
  const fetches = new AttributeCache();
  const fetchDurations = new AttributeCache();
  const lookups = new AttributeCache();
  const invalidations = new AttributeCache();
  const expiries = new Map<string, Reading>();
  const storeUps = new Map<string, Reading>();

  const readingOf = (readings: Map<string, Reading>, credential: string): Reading => {
    let reading = readings.get(credential);
    if (!reading) {
      reading = { attributes: Object.freeze({ [ATTR_CREDENTIAL]: credential }), value: 0 };
      readings.set(credential, reading);
    }
    return reading;
  };
  const observe =
    (readings: Map<string, Reading>): ObservableCallback =>
    (result) => {
      for (const { value, attributes } of readings.values()) result.observe(value, attributes);
    };
  const observeExpiries = observe(expiries);
  const observeStoreUps = observe(storeUps);
  instruments.tokenExpiry.addCallback(observeExpiries);
  instruments.tokenStoreUp.addCallback(observeStoreUps);

  return [
    {
      dispose() {
        instruments.tokenExpiry.removeCallback(observeExpiries);
        instruments.tokenStoreUp.removeCallback(observeStoreUps);
      },
    },
    events.fetchEnd.event((e) => {
      const { credential, result } = e;
      const errorType = result === 'failure' ? (boundErrorType(e.errorType) ?? OTHER) : undefined;
      instruments.tokenFetches.add(
        1,
        fetches.get(credential, result, errorType) ??
          fetches.add(
            errorType === undefined
              ? { [ATTR_CREDENTIAL]: credential, [ATTR_TOKEN_RESULT]: result }
              : {
                  [ATTR_CREDENTIAL]: credential,
                  [ATTR_TOKEN_RESULT]: result,
                  [ATTR_ERROR_TYPE]: errorType,
                },
            credential,
            result,
            errorType,
          ),
      );
      instruments.tokenFetchDuration.record(
        e.durationMs / 1000,
        fetchDurations.get(credential, result) ??
          fetchDurations.add(
            { [ATTR_CREDENTIAL]: credential, [ATTR_TOKEN_RESULT]: result },
            credential,
            result,
          ),
      );
    }),
    events.cacheLookup.event((e) => {
      const { credential, level, result } = e;
      instruments.tokenLookups.add(
        1,
        lookups.get(credential, level, result) ??
          lookups.add(
            {
              [ATTR_CREDENTIAL]: credential,
              [ATTR_TOKEN_CACHE_LEVEL]: level,
              [ATTR_TOKEN_CACHE_RESULT]: result,
            },
            credential,
            level,
            result,
          ),
      );
    }),
    events.invalidation.event((e) => {
      const { credential, result } = e;
      instruments.tokenInvalidations.add(
        1,
        invalidations.get(credential, result) ??
          invalidations.add(
            { [ATTR_CREDENTIAL]: credential, [ATTR_TOKEN_INVALIDATION_RESULT]: result },
            credential,
            result,
          ),
      );
    }),
    events.tokenInUse.event((e) => {
      readingOf(expiries, e.credential).value = e.expiresAtMs / 1000;
    }),
    events.storeState.event((e) => {
      readingOf(storeUps, e.credential).value = e.up ? 1 : 0;
    }),
  ];
}

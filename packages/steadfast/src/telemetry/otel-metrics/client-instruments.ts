import type { Attributes, ObservableCallback } from '@opentelemetry/api';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { Disposable } from '../../pipeline/event.js';
import type { BreakerState, Severity } from '../../pipeline/events.js';
import type { AdmissionLayers } from '../admission.js';
import {
  boundErrorType,
  boundStatusCode,
  callResultOf,
  normalizeMethod,
  OTHER,
  serverOf,
} from '../attributes.js';
import {
  BREAKER_TRANSITIONS,
  CALL_KINDS,
  type CallKind,
  callKindOf,
  type EventStrategy,
  subscribeAdmissionEvents,
  subscribeResilienceEvents,
  subscribeToolboxEvents,
} from '../resilience-events.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_SCHEME,
} from '../semconv.js';
import { attemptsBesidesHedges, fallbackServedOf, type ToolboxLayers } from '../toolbox.js';
import { subscribeAdmissionInstruments } from './admission-instruments.js';
import { AttributeCache } from './attribute-cache.js';
import type { OtelInstruments } from './instruments.js';
import {
  ATTR_BREAKER_FROM_STATE,
  ATTR_BREAKER_STATE,
  ATTR_BREAKER_TO_STATE,
  ATTR_CALL_KIND,
  ATTR_CLIENT,
  ATTR_EVENT_NAME,
  ATTR_EVENT_SEVERITY,
  ATTR_EVENT_STRATEGY,
  ATTR_OUTCOME,
  ATTR_RETRY_DELAY_SOURCE,
} from './keys.js';
import { subscribeToolboxInstruments } from './toolbox-instruments.js';

/** The server attributes of one origin: `server.address`, `server.port`, `url.scheme`. */
interface OriginAttributes {
  readonly address: string;
  readonly attributes: Attributes;
}

const STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];

/**
 * The OpenTelemetry twin of `subscribeClientMetrics`: the same events, the same counts, the
 * same bounded vocabularies, as instruments of `instruments`. `server.address` comes only
 * from the client's configured origins (else `_OTHER`, without `server.port`: a number has
 * no `_OTHER`); `error.type` from the closed list; `http.response.status_code` only when it
 * is a registered code. Every attribute object is built once per bounded key and reused,
 * so `attemptEnd` and `callEnd` do a few `Map` lookups and one `record`/`add` each.
 */
export function subscribeClientInstruments(
  events: ClientEvents,
  instruments: OtelInstruments,
  client: string,
  origins: readonly string[],
  admission: AdmissionLayers,
  toolbox: ToolboxLayers,
): Disposable[] {
  const freeze = (attributes: Attributes): Attributes => Object.freeze(attributes);
  const clientOnly = freeze({ [ATTR_CLIENT]: client });

  const originAttributes = new Map<string, OriginAttributes>();
  for (const origin of origins) {
    try {
      const url = new URL(origin);
      const { address, port } = serverOf(url);
      const entry: OriginAttributes = {
        address,
        attributes: freeze({
          [ATTR_SERVER_ADDRESS]: address,
          [ATTR_SERVER_PORT]: port,
          [ATTR_URL_SCHEME]: url.protocol.slice(0, -1),
        }),
      };
      originAttributes.set(url.origin, entry);
      originAttributes.set(`${url.protocol}//${url.hostname}:${port}`, entry);
    } catch {
      // not a URL: nothing can match it
    }
  }
  const otherHttp: OriginAttributes = {
    address: OTHER,
    attributes: freeze({ [ATTR_SERVER_ADDRESS]: OTHER, [ATTR_URL_SCHEME]: 'http' }),
  };
  const otherHttps: OriginAttributes = {
    address: OTHER,
    attributes: freeze({ [ATTR_SERVER_ADDRESS]: OTHER, [ATTR_URL_SCHEME]: 'https' }),
  };
  const originOf = (origin: string): OriginAttributes =>
    originAttributes.get(origin) ?? (origin.startsWith('https:') ? otherHttps : otherHttp);
  const addressOf = (origin: string): string => originAttributes.get(origin)?.address ?? OTHER;

  const attemptAttributes = new AttributeCache();
  const callKinds = Object.fromEntries(
    CALL_KINDS.map((kind) => [kind, freeze({ [ATTR_CLIENT]: client, [ATTR_CALL_KIND]: kind })]),
  ) as Record<CallKind, Attributes>;
  const callOutcomes = {
    success: freeze({ [ATTR_CLIENT]: client, [ATTR_OUTCOME]: 'success' }),
    failure: freeze({ [ATTR_CLIENT]: client, [ATTR_OUTCOME]: 'failure' }),
    rejected: freeze({ [ATTR_CLIENT]: client, [ATTR_OUTCOME]: 'rejected' }),
  };
  const retryReasons = new AttributeCache();
  const delaySources = {
    backoff: freeze({ [ATTR_CLIENT]: client, [ATTR_RETRY_DELAY_SOURCE]: 'backoff' }),
    retry_after: freeze({ [ATTR_CLIENT]: client, [ATTR_RETRY_DELAY_SOURCE]: 'retry_after' }),
  };
  const eventAttributes = new AttributeCache();
  const stateAttributes = new AttributeCache();
  const transitionAttributes = new AttributeCache();
  const notPermittedAttributes = new AttributeCache();

  const event = (strategy: EventStrategy, name: string, severity: Severity) =>
    instruments.events.add(
      1,
      eventAttributes.get(strategy, name, severity) ??
        eventAttributes.add(
          {
            [ATTR_CLIENT]: client,
            [ATTR_EVENT_STRATEGY]: strategy,
            [ATTR_EVENT_NAME]: name,
            [ATTR_EVENT_SEVERITY]: severity,
          },
          strategy,
          name,
          severity,
        ),
    );
  const retried = (reason: string) =>
    instruments.retries.add(
      1,
      retryReasons.get(reason) ??
        retryReasons.add({ [ATTR_CLIENT]: client, [ATTR_ERROR_TYPE]: reason }, reason),
    );
  const transitionOf = (address: string, from: BreakerState, to: BreakerState): Attributes =>
    transitionAttributes.get(address, from, to) ??
    transitionAttributes.add(
      {
        [ATTR_CLIENT]: client,
        [ATTR_SERVER_ADDRESS]: address,
        [ATTR_BREAKER_FROM_STATE]: from,
        [ATTR_BREAKER_TO_STATE]: to,
      },
      address,
      from,
      to,
    );
  const stateOf = (address: string, state: BreakerState): Attributes =>
    stateAttributes.get(address, state) ??
    stateAttributes.add(
      { [ATTR_CLIENT]: client, [ATTR_SERVER_ADDRESS]: address, [ATTR_BREAKER_STATE]: state },
      address,
      state,
    );

  // The current state of each origin's breaker, read when the meter collects. Every
  // configured origin starts closed, so "open breakers" panels read 0 rather than no data,
  // and every transition series exists at 0 before the first transition (a counter series
  // born at 1 shows no increase(), and the flapping alert would miss the first cycle).
  const breakerStates = new Map<string, BreakerState>();
  for (const { address } of new Set(originAttributes.values())) {
    breakerStates.set(address, 'closed');
    for (const [from, to] of BREAKER_TRANSITIONS) {
      instruments.breakerTransitions.add(0, transitionOf(address, from, to));
    }
  }
  const observeBreakers: ObservableCallback = (result) => {
    for (const [address, current] of breakerStates) {
      for (const state of STATES)
        result.observe(state === current ? 1 : 0, stateOf(address, state));
    }
  };
  instruments.breakerState.addCallback(observeBreakers);

  const { fallback, hedging } = toolbox;
  // The limiter reports twice per call: keep its latest numbers, observed at collection.
  let limiterReported = false;
  let inflight = 0;
  let limit = 0;
  const observeInflight: ObservableCallback = (result) => {
    if (limiterReported) result.observe(inflight, clientOnly);
  };
  const observeLimit: ObservableCallback = (result) => {
    if (limiterReported) result.observe(limit, clientOnly);
  };
  instruments.inflight.addCallback(observeInflight);
  instruments.limit.addCallback(observeLimit);

  return [
    {
      dispose() {
        instruments.breakerState.removeCallback(observeBreakers);
        instruments.inflight.removeCallback(observeInflight);
        instruments.limit.removeCallback(observeLimit);
      },
    },
    events.attemptEnd.event((e) => {
      const { ctx, outcome } = e;
      const method = normalizeMethod(ctx.method);
      const origin = originOf(ctx.origin);
      // The raw status is a bounded key (three digits); the attribute is built on a miss only.
      const status = outcome.kind === 'response' ? outcome.response.status : undefined;
      const errorType = boundErrorType(e.errorType);
      const attributes =
        attemptAttributes.get(method, origin, status, errorType) ??
        attemptAttributes.add(
          attemptAttributesOf(client, method, origin, status, errorType),
          method,
          origin,
          status,
          errorType,
        );
      instruments.attemptDuration.record(e.durationMs / 1000, attributes);
    }),
    events.callEnd.event((e) => {
      const { ctx, outcome } = e;
      const result = callResultOf(ctx, outcome);
      // A caller abort is not an outcome of the downstream: neither success nor failure.
      if (result === 'aborted') return;
      const kind =
        fallback && fallbackServedOf(ctx) !== undefined
          ? 'fallback'
          : callKindOf(result, hedging ? attemptsBesidesHedges(ctx) : ctx.attempts);
      instruments.calls.add(1, callKinds[kind]);
      instruments.callDuration.record(e.durationMs / 1000, callOutcomes[result]);
    }),
    events.retry.event((e) => {
      retried(boundErrorType(e.reason) ?? OTHER);
      instruments.retryDelay.add(e.delayMs / 1000, delaySources[e.delaySource]);
    }),
    events.breakerTransition.event((e) => {
      const address = addressOf(e.origin);
      breakerStates.set(address, e.to);
      instruments.breakerTransitions.add(1, transitionOf(address, e.from, e.to));
    }),
    events.breakerRejected.event((e) => {
      const address = addressOf(e.ctx.origin);
      instruments.breakerNotPermitted.add(
        1,
        notPermittedAttributes.get(address) ??
          notPermittedAttributes.add(
            { [ATTR_CLIENT]: client, [ATTR_SERVER_ADDRESS]: address },
            address,
          ),
      );
    }),
    events.limiter.event((e) => {
      limiterReported = true;
      inflight = e.clientInflight ?? e.inflight;
      limit = e.clientLimit ?? e.limit;
    }),
    events.reauthorize.event((e) => {
      if (e.resent) retried(e.dpopNonce ? 'use_dpop_nonce' : '401');
    }),
    ...subscribeResilienceEvents(events, event),
    ...subscribeAdmissionEvents(events, admission, event),
    ...subscribeAdmissionInstruments(events, instruments, client, admission),
    ...subscribeToolboxEvents(events, toolbox, event),
    ...subscribeToolboxInstruments(
      events,
      instruments,
      client,
      addressOf,
      [...new Set([...originAttributes.values()].map((o) => o.address))],
      toolbox,
    ),
  ];
}

/**
 * The attempt histogram's attributes (semconv HTTP client, plus `steadfast.client`). Absent
 * attributes stay absent: no status without a response or for an unregistered code, no
 * `error.type` on success.
 */
function attemptAttributesOf(
  client: string,
  method: string,
  origin: OriginAttributes,
  status: number | undefined,
  errorType: string | undefined,
): Attributes {
  const attributes: Attributes = {
    [ATTR_CLIENT]: client,
    [ATTR_HTTP_REQUEST_METHOD]: method,
    ...origin.attributes,
  };
  if (status !== undefined && boundStatusCode(status) !== OTHER) {
    attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
  }
  if (errorType !== undefined) attributes[ATTR_ERROR_TYPE] = errorType;
  return attributes;
}

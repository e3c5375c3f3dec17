import type { Attributes, Span } from '@opentelemetry/api';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { Disposable } from '../../pipeline/event.js';
import { boundErrorType, OTHER, serverOf } from '../attributes.js';
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS } from '../semconv.js';
import type { ToolboxLayers } from '../toolbox.js';
import { callSpanOf } from './keys.js';

/** Span event names of the toolbox strategies (on the logical-call span). */
export const EVENT_HEDGE = 'steadfast.hedge';
export const EVENT_HEDGE_END = 'steadfast.hedge.end';
export const EVENT_FALLBACK = 'steadfast.fallback';

function recording(span: Span | undefined): span is Span {
  return span?.isRecording() === true;
}

/** `server.address` of an endpoint (`scheme://host:port`): its host, never a path. */
function addressOf(origin: string): string {
  try {
    return serverOf(new URL(origin)).address;
  } catch {
    return OTHER;
  }
}

/**
 * The toolbox strategies' decisions as span events on the call span: each hedge sent (or
 * skipped for the budget) and which attempt the hedged call took; each fallback, served or
 * not. Subscribed only for the layers the client has.
 */
export function subscribeToolboxSpanEvents(
  events: ClientEvents,
  layers: ToolboxLayers,
): Disposable[] {
  const subscriptions: Disposable[] = [];
  if (layers.hedging) {
    subscriptions.push(
      events.hedge.event((e) => {
        const span = callSpanOf(e.ctx);
        if (!recording(span)) return;
        const attributes: Attributes = {
          'steadfast.hedge.index': e.hedge,
          'steadfast.hedge.trigger': e.trigger,
          'steadfast.hedge.delay_ms': Math.round(e.delayMs),
          [ATTR_SERVER_ADDRESS]: addressOf(e.origin),
        };
        if (e.skipped !== undefined) attributes['steadfast.hedge.skip_reason'] = e.skipped;
        span.addEvent(EVENT_HEDGE, attributes);
      }),
      events.hedgeEnd.event((e) => {
        // A call whose first attempt answered before any hedge went says nothing here.
        if (e.sent < 2) return;
        const span = callSpanOf(e.ctx);
        if (!recording(span)) return;
        const attributes: Attributes = {
          'steadfast.hedge.sent': e.sent,
          'steadfast.hedge.cancelled': e.cancelled,
        };
        if (e.winner !== undefined) {
          attributes['steadfast.hedge.winner'] = e.winner;
          if (e.origin !== undefined) attributes[ATTR_SERVER_ADDRESS] = addressOf(e.origin);
        }
        span.addEvent(EVENT_HEDGE_END, attributes);
      }),
    );
  }
  if (layers.fallback) {
    subscriptions.push(
      events.fallback.event((e) => {
        const span = callSpanOf(e.ctx);
        if (!recording(span)) return;
        const attributes: Attributes = {
          'steadfast.fallback.kind': e.kind,
          [ATTR_ERROR_TYPE]: boundErrorType(e.trigger) ?? OTHER,
          'steadfast.fallback.served': e.served,
        };
        if (e.served && e.ageMs !== undefined && Number.isFinite(e.ageMs)) {
          attributes['steadfast.fallback.stale_age_ms'] = Math.round(e.ageMs);
        }
        span.addEvent(EVENT_FALLBACK, attributes);
      }),
    );
  }
  return subscriptions;
}

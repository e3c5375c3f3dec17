import {
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { FetchTrigger, TokenEvents } from '../../auth/events.js';
import type { Disposable } from '../../pipeline/event.js';

interface InflightFetch {
  readonly span: Span;
  waiters: number;
}

/**
 * The token-fetch span: INTERNAL `{credential} token fetch`, from `fetchStart` to
 * `fetchEnd`, child of whatever was active when the fetch started (the call that needed the
 * token). A call that coalesces onto a fetch in flight (`cacheLookup` = `coalesced`) gets a
 * span link to it, so every waiting call points at the one fetch it waited for.
 * Subscribed once per token manager (see `shared.ts`), however many clients share it.
 */
export function subscribeTokenSpans(events: TokenEvents, tracer: Tracer): Disposable[] {
  // Fetches in flight, oldest first, per trigger (a soft refresh may overlap a 401 fetch).
  const inflight = new Map<FetchTrigger, InflightFetch[]>();
  let latest: InflightFetch | undefined;
  // Calls that joined the in-process single flight before it reached the token endpoint
  // (it reads the shared store first): linked when the fetch starts, dropped on a store hit.
  let pending: Span[] = [];

  const link = (waiting: Span, fetch: InflightFetch) => {
    fetch.waiters++;
    waiting.addLink({
      context: fetch.span.spanContext(),
      attributes: { 'steadfast.link.type': 'token_fetch_waited' },
    });
  };

  return [
    events.fetchStart.event((e) => {
      const span = tracer.startSpan(
        `${e.credential} token fetch`,
        {
          kind: SpanKind.INTERNAL,
          attributes: {
            'steadfast.credential': e.credential,
            'steadfast.token.trigger': e.trigger,
          },
        },
        context.active(),
      );
      const fetch: InflightFetch = { span, waiters: 0 };
      const queue = inflight.get(e.trigger);
      if (queue) queue.push(fetch);
      else inflight.set(e.trigger, [fetch]);
      latest = fetch;
      for (const waiting of pending) if (waiting.isRecording()) link(waiting, fetch);
      pending = [];
    }),
    events.fetchEnd.event((e) => {
      const fetch = inflight.get(e.trigger)?.shift();
      if (!fetch) return;
      if (latest === fetch) latest = undefined;
      const { span } = fetch;
      if (span.isRecording()) {
        span.setAttribute('steadfast.token.result', e.result);
        span.setAttribute('steadfast.token.waiters', fetch.waiters);
        if (e.fingerprint !== undefined)
          span.setAttribute('steadfast.token.fingerprint', e.fingerprint);
        if (e.result === 'failure') {
          span.setAttribute(ATTR_ERROR_TYPE, e.errorType ?? '_OTHER');
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
      }
      span.end();
    }),
    events.cacheLookup.event((e) => {
      if (e.level === 'store') {
        if (e.result === 'hit') pending = []; // the flight ended without a fetch
        return;
      }
      if (e.result === 'miss') {
        pending = []; // a new flight starts
        return;
      }
      if (e.result !== 'coalesced') return;
      const active = context.active();
      const waiting = trace.getSpan(active);
      if (!waiting?.isRecording()) return;
      if (latest) link(waiting, latest);
      else pending.push(waiting);
    }),
  ];
}

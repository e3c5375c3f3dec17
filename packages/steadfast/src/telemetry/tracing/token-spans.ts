import {
  context,
  isSpanContextValid,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type {
  FetchTrigger,
  TokenEvents,
  TokenRequestEvent,
  TokenRequestOutcome,
} from '../../auth/events.js';
import type { Disposable } from '../../pipeline/event.js';
import { normalizeMethod, OTHER, redactUrl, serverOf } from '../attributes.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '../semconv.js';
import { suppressTracing } from './keys.js';

interface InflightFetch {
  readonly span: Span;
  waiters: number;
}

/**
 * The token-fetch span: INTERNAL `{credential} token fetch`, started in the token manager's
 * `fetchScope` (so it is active while the fetch runs) and ended on `fetchEnd`; child of
 * whatever was active when the fetch started (the call that needed the token). Its CLIENT
 * child is the token-endpoint POST, started in `requestScope` (see {@link traceTokenRequest}).
 * A call that coalesces onto a fetch in flight (`cacheLookup` = `coalesced`) gets a span
 * link to it, so every waiting call points at the one fetch it waited for.
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
    events.fetchScope.register((e, run) => {
      const parent = context.active();
      const span = tracer.startSpan(
        `${e.credential} token fetch`,
        {
          kind: SpanKind.INTERNAL,
          attributes: {
            'steadfast.credential': e.credential,
            'steadfast.token.trigger': e.trigger,
          },
        },
        parent,
      );
      const fetch: InflightFetch = { span, waiters: 0 };
      const queue = inflight.get(e.trigger);
      if (queue) queue.push(fetch);
      else inflight.set(e.trigger, [fetch]);
      latest = fetch;
      for (const waiting of pending) if (waiting.isRecording()) link(waiting, fetch);
      pending = [];
      // Not suppressed: an instrumented discovery request is a child of the fetch span.
      return context.with(trace.setSpan(parent, span), run);
    }),
    events.requestScope.register((e, run) => traceTokenRequest(tracer, e, run)),
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

/**
 * The CLIENT span of one token-endpoint request (semconv HTTP client span), child of the
 * active token-fetch span. The request runs with tracing suppressed, so an undici/http
 * instrumentation the app registered adds no second CLIENT span for it. Only the method,
 * the endpoint (no query, no userinfo) and the HTTP outcome reach the span: the request
 * body, the `Authorization` header and the answer never pass through here.
 */
async function traceTokenRequest(
  tracer: Tracer,
  e: TokenRequestEvent,
  run: () => Promise<TokenRequestOutcome>,
): Promise<void> {
  let url: URL;
  try {
    url = new URL(e.url);
  } catch {
    await run(); // undici rejects it; nothing to describe
    return;
  }
  const method = normalizeMethod(e.method);
  const { address, port } = serverOf(url);
  url.search = '';
  const parent = context.active();
  const span = tracer.startSpan(
    method === OTHER ? 'HTTP' : method,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR_SERVER_ADDRESS]: address,
        [ATTR_SERVER_PORT]: port,
        [ATTR_URL_FULL]: redactUrl(url),
      },
    },
    parent,
  );
  // No tracer provider and no trace: nothing would be recorded, so no context switch.
  if (!isSpanContextValid(span.spanContext())) {
    await run();
    return;
  }
  // `run` reports failures in its outcome; a rejection would be a bug, still recorded.
  let outcome: TokenRequestOutcome = { status: undefined, errorType: OTHER };
  try {
    outcome = await context.with(suppressTracing(trace.setSpan(parent, span)), run);
  } finally {
    endTokenRequestSpan(span, outcome);
  }
}

function endTokenRequestSpan(span: Span, outcome: TokenRequestOutcome): void {
  if (span.isRecording()) {
    if (outcome.status !== undefined) {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, outcome.status);
    }
    if (outcome.errorType !== undefined) {
      span.setAttribute(ATTR_ERROR_TYPE, outcome.errorType);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  }
  span.end();
}

import {
  type Context,
  createContextKey,
  INVALID_SPANID,
  INVALID_TRACEID,
  type Span,
} from '@opentelemetry/api';
import type { CallContext } from '../../pipeline/types.js';

/**
 * The key `@opentelemetry/core` uses for `suppressTracing()`. `createContextKey` is
 * `Symbol.for(description)`, so this is the very same key without depending on the SDK
 * (the library imports `@opentelemetry/api` only). While it is set, SDK tracers return
 * non-recording spans and the W3C propagator injects nothing: instrumentations (undici,
 * http) create no second CLIENT span for the SDK's own request.
 */
export const SUPPRESS_TRACING_KEY = createContextKey(
  'OpenTelemetry SDK Context Key SUPPRESS_TRACING',
);

/** Mark a context so instrumentations stay silent inside it. */
export function suppressTracing(context: Context): Context {
  return context.setValue(SUPPRESS_TRACING_KEY, true);
}

/** Slot of `CallContext.slots` holding the logical-call span. */
export const CALL_SPAN_SLOT = Symbol('steadfast.callSpan');
/** Slot holding the current attempt's CLIENT span. */
export const ATTEMPT_SPAN_SLOT = Symbol('steadfast.attemptSpan');
/** Slot holding the propagation header names injected for the previous attempt. */
export const INJECTED_HEADERS_SLOT = Symbol('steadfast.injectedHeaders');

export function callSpanOf(ctx: CallContext): Span | undefined {
  return ctx.slots.get(CALL_SPAN_SLOT) as Span | undefined;
}

export function attemptSpanOf(ctx: CallContext): Span | undefined {
  return ctx.slots.get(ATTEMPT_SPAN_SLOT) as Span | undefined;
}

/**
 * Whether `span` carries a trace on (a provider made it, or it continues one): what
 * `isSpanContextValid` says for the spans a tracer hands out, without its two regular
 * expressions per call. A recording span always does; the no-op tracer's spans carry the
 * API's invalid ids. (A malformed id that slipped through costs a context switch at most:
 * the W3C propagator checks again before it writes `traceparent`.)
 */
export function carriesTrace(span: Span): boolean {
  if (span.isRecording()) return true;
  const { traceId, spanId } = span.spanContext();
  return (
    traceId.length === 32 &&
    spanId.length === 16 &&
    traceId !== INVALID_TRACEID &&
    spanId !== INVALID_SPANID
  );
}

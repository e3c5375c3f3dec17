import {
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { CallContext, Next, Outcome, Strategy } from '../../pipeline/types.js';
import { boundErrorType, callErrorTypeOf, callResultOf, OTHER } from '../attributes.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from '../semconv.js';
import { fallbackServedOf } from '../toolbox.js';
import { CALL_SPAN_SLOT, carriesTrace } from './keys.js';
import { requestInfoOf } from './request-info.js';

/** Span attribute names of the SDK's own namespace (documented in docs/telemetry.md). */
export const ATTR_STEADFAST_CLIENT = 'steadfast.client';
export const ATTR_STEADFAST_OPERATION = 'steadfast.operation';
export const ATTR_STEADFAST_ATTEMPTS = 'steadfast.attempts';
export const ATTR_STEADFAST_OUTCOME = 'steadfast.outcome';
export const ATTR_STEADFAST_RETRY_STOP_REASON = 'steadfast.retry.stop_reason';
export const ATTR_STEADFAST_FALLBACK_KIND = 'steadfast.fallback.kind';
export const ATTR_STEADFAST_FALLBACK_TRIGGER = 'steadfast.fallback.trigger';
export const ATTR_STEADFAST_FALLBACK_STALE_AGE_MS = 'steadfast.fallback.stale_age_ms';

/**
 * The logical-call span: INTERNAL, named `{client} {operation}`, child of the caller's
 * active span. Runs the rest of the pipeline inside it, so every inner span and every
 * event listener sees it.
 */
export class CallSpanLayer implements Strategy {
  readonly name = 'tracing';

  constructor(
    private readonly tracer: Tracer,
    /** False while no span could record or carry anything (see `liveness.ts`). */
    private readonly live: () => boolean,
    /** Whether the client has a fallback: a call it answered ends with outcome `fallback`. */
    private readonly fallback = false,
  ) {}

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    // No tracer provider registered and no trace to continue: hand the call through.
    if (!this.live()) return next(ctx);
    const parent = context.active();
    const { method, address, port } = requestInfoOf(ctx);
    const span = this.tracer.startSpan(
      `${ctx.client} ${ctx.operation}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_SERVER_ADDRESS]: address,
          [ATTR_SERVER_PORT]: port,
          [ATTR_STEADFAST_CLIENT]: ctx.client,
          [ATTR_STEADFAST_OPERATION]: ctx.operation,
        },
      },
      parent,
    );
    if (method === OTHER) span.setAttribute(ATTR_HTTP_REQUEST_METHOD_ORIGINAL, ctx.method);
    // A provider that does not sample this call (and no trace to continue): nothing to
    // propagate, so skip the context switch.
    if (!carriesTrace(span)) return next(ctx);
    ctx.slots.set(CALL_SPAN_SLOT, span);
    const inner = trace.setSpan(parent, span);
    // Not recording (a sampler said no): the span only carries the trace on, and ending it
    // records nothing, so there is nothing to wait for.
    if (!span.isRecording()) return context.with(inner, next, undefined, ctx);
    // `.then` rather than an async function: one promise per call instead of two.
    return context.with(inner, next, undefined, ctx).then(
      (outcome) => {
        endCallSpan(span, ctx, outcome, this.fallback);
        return outcome;
      },
      (error: unknown) => {
        // Strategies return outcomes; a throw is a bug somewhere inside. Still end the span.
        endCallSpan(span, ctx, { kind: 'error', error: error as Error }, this.fallback);
        throw error;
      },
    );
  }
}

function endCallSpan(span: Span, ctx: CallContext, outcome: Outcome, fallback: boolean): void {
  if (span.isRecording()) {
    // A fallback answered the call: say so, so that nobody takes its answer for fresh.
    const served = fallback ? fallbackServedOf(ctx) : undefined;
    if (served !== undefined) {
      span.setAttribute(ATTR_STEADFAST_FALLBACK_KIND, served.kind);
      span.setAttribute(ATTR_STEADFAST_FALLBACK_TRIGGER, boundErrorType(served.trigger) ?? OTHER);
      if (served.ageMs !== undefined && Number.isFinite(served.ageMs)) {
        span.setAttribute(ATTR_STEADFAST_FALLBACK_STALE_AGE_MS, Math.round(served.ageMs));
      }
    }
    const result = callResultOf(ctx, outcome);
    const errorType = result === 'aborted' ? undefined : callErrorTypeOf(ctx, outcome);
    span.setAttribute(ATTR_STEADFAST_ATTEMPTS, ctx.attempts);
    span.setAttribute(ATTR_STEADFAST_OUTCOME, served !== undefined ? 'fallback' : result);
    if (ctx.retryStopReason !== undefined) {
      span.setAttribute(ATTR_STEADFAST_RETRY_STOP_REASON, ctx.retryStopReason);
    }
    if (errorType !== undefined) {
      span.setAttribute(ATTR_ERROR_TYPE, errorType);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  }
  span.end();
}

import { channel } from 'node:diagnostics_channel';
import {
  type Attributes,
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { SteadfastError } from '../../errors.js';
import { errorCode, errorTypeOf } from '../../http/classify.js';
import type { CallContext, Next, Outcome, Strategy } from '../../pipeline/types.js';
import { CANCELLED, OTHER } from '../attributes.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_EXCEPTION_MESSAGE,
  ATTR_EXCEPTION_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '../semconv.js';
import {
  ATTEMPT_SPAN_SLOT,
  callSpanOf,
  carriesTrace,
  INJECTED_HEADERS_SLOT,
  suppressTracing,
} from './keys.js';
import { requestInfoOf } from './request-info.js';

/**
 * The index of a hedged attempt among its call's attempts that were out at once: 0 for the
 * first, n for the n-th hedge (absent on a call that is not hedged).
 */
export const ATTR_STEADFAST_HEDGE_INDEX = 'steadfast.hedge.index';

/**
 * The undici channel an HTTP instrumentation (OpenTelemetry's undici one) watches to make a
 * span of its own for a request, reading the active context when the request is created.
 * Only while someone subscribes does the attempt need a suppressed context around it.
 */
const UNDICI_REQUEST_CREATE = channel('undici:request:create');

/**
 * The CLIENT span of one wire attempt (semconv HTTP client span), child of the call span.
 *
 * - attributes required by semconv are set at start (samplers see them);
 * - `http.request.resend_count` = `ctx.attempt` on re-sends only (transient retry or 401);
 * - `steadfast.hedge.index` = `ctx.hedge` on the attempts of a hedged call; a hedge
 *   cancelled because another attempt answered first ends with `error.type` `cancelled`
 *   and no error status (the SDK's own decision, not a failure);
 * - `traceparent` (and whatever else the registered propagator writes) is injected into
 *   `ctx.headers` from this span, replacing what the previous attempt carried;
 * - the inner pipeline (attempt timeout, transport) runs with tracing suppressed, so an
 *   undici instrumentation registered by the app adds no second CLIENT span; with nobody
 *   subscribed to undici's request channel nothing inside reads the context, and the
 *   attempt runs without a context switch.
 */
export class AttemptSpanLayer implements Strategy {
  readonly name = 'tracing-attempt';

  constructor(
    private readonly tracer: Tracer,
    /** False while no span could record or carry anything (see `liveness.ts`). */
    private readonly live: () => boolean,
  ) {}

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    // No tracer provider registered and no trace to continue: no span, no traceparent.
    if (!this.live()) return next(ctx);
    // Parent on the call span explicitly: right even where no context manager carries it
    // (and no context copy in the usual case, where the call span is already active).
    const callSpan = callSpanOf(ctx);
    const active = context.active();
    const parent =
      callSpan && trace.getSpan(active) !== callSpan ? trace.setSpan(active, callSpan) : active;
    const { method, address, port, urlFull } = requestInfoOf(ctx);
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_SERVER_ADDRESS]: address,
      [ATTR_SERVER_PORT]: port,
      [ATTR_URL_FULL]: urlFull,
    };
    if (method === OTHER) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = ctx.method;
    if (ctx.attempt > 0) attributes[ATTR_HTTP_REQUEST_RESEND_COUNT] = ctx.attempt;
    if (ctx.hedge !== undefined) attributes[ATTR_STEADFAST_HEDGE_INDEX] = ctx.hedge;
    const span = this.tracer.startSpan(
      method === OTHER ? 'HTTP' : method,
      { kind: SpanKind.CLIENT, attributes },
      parent,
    );
    // No tracer provider and no trace: no traceparent to send and no instrumentation that
    // would record anything, so no span slot and no context switch either.
    if (!carriesTrace(span)) return next(ctx);
    return this.traced(ctx, next, span, parent);
  }

  private traced(ctx: CallContext, next: Next, span: Span, parent: Context): Promise<Outcome> {
    const withSpan = trace.setSpan(parent, span);
    // Inject before suppressing: the W3C propagator injects nothing in a suppressed context.
    const headers = ctx.headers;
    const previous = ctx.slots.get(INJECTED_HEADERS_SLOT) as string[] | undefined;
    if (previous) for (const name of previous) delete headers[name];
    const carrier: Record<string, string> = {};
    propagation.inject(withSpan, carrier);
    const injected = Object.keys(carrier);
    for (const name of injected) headers[name] = carrier[name]!;
    ctx.slots.set(INJECTED_HEADERS_SLOT, injected);

    const watched = UNDICI_REQUEST_CREATE.hasSubscribers;
    // Not recording (a sampler said no): the span carries the trace on in `traceparent`,
    // ending it records nothing, and it can give no exemplar: nothing to wait for.
    if (!span.isRecording()) {
      return watched ? context.with(suppressTracing(withSpan), next, undefined, ctx) : next(ctx);
    }
    ctx.slots.set(ATTEMPT_SPAN_SLOT, span);
    const pending = watched
      ? context.with(suppressTracing(withSpan), next, undefined, ctx)
      : next(ctx);
    // `.then` rather than an async function: one promise per attempt instead of two.
    return pending.then(
      (outcome) => {
        ctx.slots.delete(ATTEMPT_SPAN_SLOT);
        endAttemptSpan(span, outcome);
        return outcome;
      },
      (error: unknown) => {
        ctx.slots.delete(ATTEMPT_SPAN_SLOT);
        endAttemptSpan(span, { kind: 'error', error: error as Error });
        throw error;
      },
    );
  }
}

function endAttemptSpan(span: ReturnType<Tracer['startSpan']>, outcome: Outcome): void {
  if (span.isRecording()) {
    if (outcome.kind === 'response') {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, outcome.response.status);
      // The transport is an undici Pool speaking HTTP/1.1 (no `allowH2`).
      span.setAttribute(ATTR_NETWORK_PROTOCOL_VERSION, '1.1');
    }
    const errorType = errorTypeOf(outcome);
    if (errorType === CANCELLED) {
      // Another attempt of the call answered first: recognisable, but no error.
      span.setAttribute(ATTR_ERROR_TYPE, errorType);
    } else if (errorType !== undefined) {
      span.setAttribute(ATTR_ERROR_TYPE, errorType);
      span.setStatus({ code: SpanStatusCode.ERROR });
      if (outcome.kind === 'error') recordSafeException(span, outcome.error, errorType);
    }
  }
  span.end();
}

/**
 * An `exception` event without anything that could carry a secret: the type and, for the
 * SDK's own errors (whose messages are built without queries, tokens or headers), the
 * message. Foreign error messages (undici, sockets) may quote the request, so they are
 * replaced by the error code.
 */
function recordSafeException(
  span: ReturnType<Tracer['startSpan']>,
  error: Error,
  errorType: string,
): void {
  const safe = error instanceof SteadfastError;
  span.addEvent('exception', {
    [ATTR_EXCEPTION_TYPE]: safe ? error.code : (errorCode(error) ?? error.name ?? errorType),
    [ATTR_EXCEPTION_MESSAGE]: safe ? error.message : errorType,
  });
}

import { context, type Span, trace } from '@opentelemetry/api';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { Disposable } from '../../pipeline/event.js';
import { type AdmissionLayers, emitsRateLimit } from '../admission.js';
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS } from '../semconv.js';
import { callSpanOf } from './keys.js';

/** Span event names (the contract's decision events, on the logical-call span). */
export const EVENT_RETRY = 'steadfast.retry';
export const EVENT_REAUTHORIZE = 'steadfast.reauthorize';
export const EVENT_BREAKER_REJECTED = 'steadfast.circuit_breaker.rejected';
export const EVENT_BREAKER_TRANSITION = 'steadfast.circuit_breaker.transition';
export const EVENT_TIMEOUT = 'steadfast.timeout';
export const EVENT_FAULT_INJECTED = 'steadfast.fault_injected';
export const EVENT_TOKEN_WITHHELD = 'steadfast.auth.token_withheld';
export const EVENT_RATE_LIMIT = 'steadfast.rate_limit';
/** A hook changed something: `steadfast.hook.headers_set`, `.outcome_replaced`, `.retry_cancelled`. */
export const EVENT_HOOK_PREFIX = 'steadfast.hook.';

function recording(span: Span | undefined): span is Span {
  return span?.isRecording() === true;
}

/**
 * Turn the pipeline's decisions into span events on the logical-call span. Listeners run
 * synchronously inside the call's async context, so a breaker transition (which carries no
 * call context) lands on the call whose attempt caused it.
 */
export function subscribeSpanEvents(
  events: ClientEvents,
  admission: AdmissionLayers,
): Disposable[] {
  const subscriptions = [
    events.retry.event((e) => {
      const span = callSpanOf(e.ctx);
      if (!recording(span)) return;
      span.addEvent(EVENT_RETRY, {
        'steadfast.retry.attempt': e.nextAttempt,
        [ATTR_ERROR_TYPE]: e.reason,
        'steadfast.retry.delay_ms': Math.round(e.delayMs),
        'steadfast.retry.delay_source': e.delaySource,
      });
    }),
    events.reauthorize.event((e) => {
      const span = callSpanOf(e.ctx);
      if (!recording(span)) return;
      span.addEvent(EVENT_REAUTHORIZE, {
        'steadfast.token.rejected_fingerprint': e.rejectedFingerprint,
        'steadfast.token.newer_present': e.newerTokenPresent,
        'steadfast.reauthorize.resent': e.resent,
        ...(e.claimsChallenge ? { 'steadfast.reauthorize.claims_challenge': true } : {}),
        ...(e.dpopNonce ? { 'steadfast.reauthorize.dpop_nonce': true } : {}),
        ...(e.skippedBecause ? { 'steadfast.reauthorize.skipped_because': e.skippedBecause } : {}),
      });
    }),
    events.breakerRejected.event((e) => {
      const span = callSpanOf(e.ctx);
      if (!recording(span)) return;
      span.addEvent(EVENT_BREAKER_REJECTED, { 'steadfast.circuit_breaker.origin': e.ctx.origin });
    }),
    events.breakerTransition.event((e) => {
      const active = context.active();
      const span = trace.getSpan(active);
      if (!recording(span)) return;
      span.addEvent(EVENT_BREAKER_TRANSITION, {
        'steadfast.circuit_breaker.origin': e.origin,
        [ATTR_SERVER_ADDRESS]: hostOf(e.origin),
        'steadfast.circuit_breaker.from_state': e.from,
        'steadfast.circuit_breaker.to_state': e.to,
      });
    }),
    events.timeout.event((e) => {
      const span = callSpanOf(e.ctx);
      if (!recording(span)) return;
      span.addEvent(EVENT_TIMEOUT, {
        'steadfast.timeout.kind': e.kind,
        ...(e.poolExhausted ? { 'steadfast.timeout.pool_exhausted': true } : {}),
        'steadfast.timeout.ms': Math.round(e.timeoutMs),
      });
    }),
    events.tokenWithheld.event((e) => {
      const span = callSpanOf(e.ctx);
      if (!recording(span)) return;
      // The origin is already on the span (server.address/port); the reason says why.
      span.addEvent(EVENT_TOKEN_WITHHELD, {
        'steadfast.auth.withheld_reason': 'origin_not_allowed',
      });
    }),
    events.hook.event((e) => {
      const span = callSpanOf(e.ctx);
      if (!recording(span)) return;
      // Names of headers only, never values (a hook sees the token); on the call span, like
      // the other decisions: beforeRequest and afterResponse run outside the attempt span
      // (the layer is outside the breaker) and beforeRetry between attempts.
      span.addEvent(`${EVENT_HOOK_PREFIX}${e.change}`, {
        'steadfast.hook.name': e.hook,
        'steadfast.hook.attempt': e.ctx.attempt,
        ...(e.headers ? { 'steadfast.hook.headers': [...e.headers] } : {}),
        ...(e.replacement ? { 'steadfast.hook.replacement': e.replacement } : {}),
      });
    }),
    events.faultInjected.event((e) => {
      const span = callSpanOf(e.ctx);
      if (!recording(span)) return;
      span.addEvent(EVENT_FAULT_INJECTED, { 'steadfast.fault': e.fault });
    }),
  ];
  if (emitsRateLimit(admission)) {
    subscriptions.push(
      events.rateLimit.event((e) => {
        // Only attempts that waited or were refused: an attempt let straight through says nothing.
        if (e.rejected === undefined && !(e.waitMs > 0)) return;
        const span = callSpanOf(e.ctx);
        if (!recording(span)) return;
        // Never the partition or scope: they may be user data.
        span.addEvent(EVENT_RATE_LIMIT, {
          'steadfast.rate_limit.limiter': e.limiter,
          'steadfast.rate_limit.attempt': e.ctx.attempt,
          'steadfast.rate_limit.permits': e.permits,
          // A refusal's wait may be Infinity (never), which has no attribute form.
          ...(Number.isFinite(e.waitMs)
            ? { 'steadfast.rate_limit.wait_ms': Math.round(e.waitMs) }
            : {}),
          ...(e.rejected !== undefined ? { 'steadfast.rate_limit.reason': e.rejected } : {}),
        });
      }),
    );
  }
  return subscriptions;
}

function hostOf(origin: string): string {
  try {
    const host = new URL(origin).hostname;
    return host.startsWith('[') ? host.slice(1, -1) : host;
  } catch {
    return origin;
  }
}

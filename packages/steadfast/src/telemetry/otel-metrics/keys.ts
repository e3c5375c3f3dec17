/**
 * The attribute keys of the OpenTelemetry instruments that are not HTTP semantic
 * conventions (those are in `../semconv.ts`). Where a span carries the same fact, the key is
 * the span's (`steadfast.client`, `steadfast.outcome`, `steadfast.credential`, ...), so a
 * metric and a span can be joined on it. docs/telemetry.md lists them per instrument.
 */
export const ATTR_CLIENT = 'steadfast.client';
export const ATTR_CALL_KIND = 'steadfast.call.kind';
export const ATTR_OUTCOME = 'steadfast.outcome';
export const ATTR_RETRY_DELAY_SOURCE = 'steadfast.retry.delay_source';
export const ATTR_EVENT_STRATEGY = 'steadfast.event.strategy';
export const ATTR_EVENT_NAME = 'steadfast.event.name';
export const ATTR_EVENT_SEVERITY = 'steadfast.event.severity';
export const ATTR_BREAKER_STATE = 'steadfast.circuit_breaker.state';
export const ATTR_BREAKER_FROM_STATE = 'steadfast.circuit_breaker.from_state';
export const ATTR_BREAKER_TO_STATE = 'steadfast.circuit_breaker.to_state';
export const ATTR_CREDENTIAL = 'steadfast.credential';
export const ATTR_TOKEN_RESULT = 'steadfast.token.result';
export const ATTR_TOKEN_CACHE_LEVEL = 'steadfast.token.cache.level';
export const ATTR_TOKEN_CACHE_RESULT = 'steadfast.token.cache.result';
export const ATTR_TOKEN_INVALIDATION_RESULT = 'steadfast.token.invalidation.result';
export const ATTR_RATE_LIMITER = 'steadfast.rate_limit.limiter';
export const ATTR_RATE_LIMIT_REASON = 'steadfast.rate_limit.reason';
export const ATTR_QUOTA_LEASE_RESULT = 'steadfast.quota.lease.result';
export const ATTR_COOLDOWN_CHANGE = 'steadfast.cooldown.change';
export const ATTR_COOLDOWN_SOURCE = 'steadfast.cooldown.source';
export const ATTR_HEDGE_TRIGGER = 'steadfast.hedge.trigger';
export const ATTR_HEDGE_SKIP_REASON = 'steadfast.hedge.skip_reason';
export const ATTR_HEDGE_WINNER = 'steadfast.hedge.winner';
export const ATTR_FALLBACK_KIND = 'steadfast.fallback.kind';
export const ATTR_FALLBACK_SERVED = 'steadfast.fallback.served';
export const ATTR_ADAPTIVE_LIMIT_BOUND = 'steadfast.adaptive_concurrency.bound';
export const ATTR_ADAPTIVE_LIMIT_DIRECTION = 'steadfast.adaptive_concurrency.direction';

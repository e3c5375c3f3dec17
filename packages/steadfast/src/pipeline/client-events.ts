import { EventEmitter } from './event.js';
import type {
  AttemptEndEvent,
  AttemptStartEvent,
  BreakerRejectedEvent,
  BreakerTransitionEvent,
  CallEndEvent,
  CallStartEvent,
  ConcurrencyLimitEvent,
  CooldownEvent,
  FallbackEvent,
  FaultInjectedEvent,
  HedgeEndEvent,
  HedgeEvent,
  HookEvent,
  LimiterEvent,
  QuotaFallbackEvent,
  QuotaLeaseEvent,
  RateLimitEvent,
  ReauthorizeEvent,
  RetryEvent,
  RetryGiveUpEvent,
  ThrottleEvent,
  TimeoutEvent,
  TokenWithheldEvent,
} from './events.js';

/** Every event a client's pipeline emits. Telemetry adapters subscribe here. */
export class ClientEvents {
  readonly callStart = new EventEmitter<CallStartEvent>();
  readonly callEnd = new EventEmitter<CallEndEvent>();
  readonly attemptStart = new EventEmitter<AttemptStartEvent>();
  readonly attemptEnd = new EventEmitter<AttemptEndEvent>();
  readonly retry = new EventEmitter<RetryEvent>();
  readonly retryGiveUp = new EventEmitter<RetryGiveUpEvent>();
  readonly timeout = new EventEmitter<TimeoutEvent>();
  readonly breakerTransition = new EventEmitter<BreakerTransitionEvent>();
  readonly breakerRejected = new EventEmitter<BreakerRejectedEvent>();
  readonly limiter = new EventEmitter<LimiterEvent>();
  readonly reauthorize = new EventEmitter<ReauthorizeEvent>();
  readonly tokenWithheld = new EventEmitter<TokenWithheldEvent>();
  readonly faultInjected = new EventEmitter<FaultInjectedEvent>();
  readonly hook = new EventEmitter<HookEvent>();
  readonly rateLimit = new EventEmitter<RateLimitEvent>();
  readonly quotaLease = new EventEmitter<QuotaLeaseEvent>();
  readonly quotaFallback = new EventEmitter<QuotaFallbackEvent>();
  readonly cooldown = new EventEmitter<CooldownEvent>();
  readonly hedge = new EventEmitter<HedgeEvent>();
  readonly hedgeEnd = new EventEmitter<HedgeEndEvent>();
  readonly fallback = new EventEmitter<FallbackEvent>();
  readonly concurrencyLimit = new EventEmitter<ConcurrencyLimitEvent>();
  readonly throttle = new EventEmitter<ThrottleEvent>();
}

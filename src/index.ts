export { TokenEvents } from './auth/events.js';
export type { Authorization } from './auth/types.js';
export type { RawResponse, RequestOptions } from './client.js';
export { createClient, SteadfastClient } from './client.js';
export { DEFAULTS } from './config/defaults.js';
export type {
  BackoffKind,
  CircuitBreakerOptions,
  ClientOptions,
  ConcurrencyOptions,
  RetryBudgetOptions,
  RetryOptions,
  TransportOptions,
} from './config/options.js';
export * from './errors.js';
export type { BodyFactory, BodyInput } from './http/body.js';
export { errorTypeOf, isTransient } from './http/classify.js';
export { ClientEvents } from './pipeline/client-events.js';
export type { Disposable, Event } from './pipeline/event.js';
export type * from './pipeline/events.js';
export type {
  CallContext,
  Next,
  Outcome,
  RetryStopReason,
  Strategy,
  WireResponse,
} from './pipeline/types.js';
export {
  type ChaosFault,
  type ChaosOptions,
  type FaultRequest,
  InjectedNetworkError,
  withInjectedFault,
} from './strategies/chaos/index.js';
export { parseRetryAfter } from './strategies/retry/retry-after.js';

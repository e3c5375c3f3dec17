// The public API of `steadfast`. Re-exports only; internals stay internal.
// The Redis token store is `@steadfast/redis`; starting the OpenTelemetry SDK for an app is
// `@steadfast/telemetry-node`: neither is loaded or installed with this package.

export type { AuthCircuitOptions } from './auth/auth-circuit.js';
export type { ClientCertificate, PresentedCertificate } from './auth/client-certificate.js';
export {
  type ClientCredentialsAuthorization,
  clientCredentials,
} from './auth/client-credentials.js';
export type { ClientAssertionAlgorithm, ClientSigningKey } from './auth/client-key.js';
export {
  CONFIGURATION_ERROR_CODES,
  isTokenEndpointError,
  TokenEndpointError,
  type TokenEndpointFailureKind,
} from './auth/errors.js';
export * from './auth/events.js';
export { tokenFingerprint } from './auth/fingerprint.js';
export { CLIENT_CREDENTIALS_DEFAULTS, type ClientCredentialsOptions } from './auth/options.js';
export {
  type BackoffApplied,
  type BackoffPolicy,
  backoffDurationMs,
} from './auth/store/backoff-policy.js';
export { type MemoryTokenStoreOptions, memoryTokenStore } from './auth/store/memory.js';
export type {
  InvalidationResult,
  StoredToken,
  StoreReadResult,
  TokenStore,
} from './auth/store/types.js';
export type { ClientAuthMethod } from './auth/token-endpoint.js';
export type { Authorization } from './auth/types.js';
export { type Challenge, parseWwwAuthenticate } from './auth/www-authenticate.js';
export type { HeadersInput, JsonRequestOptions, RawResponse, RequestOptions } from './client.js';
export { createClient, SteadfastClient } from './client.js';
export { DEFAULTS } from './config/defaults.js';
export type { ExtendOptions } from './config/extend-options.js';
export type {
  BackoffKind,
  CircuitBreakerOptions,
  ClientHooks,
  ClientOptions,
  CloseOptions,
  ConcurrencyOptions,
  RetryBudgetOptions,
  RetryOptions,
  TransportOptions,
} from './config/options.js';
export type { CallOptions, CallRetryOptions } from './config/request-options.js';
export type { SearchParamsInput } from './config/request-schema.js';
export * from './errors.js';
export type { BodyFactory, BodyInput } from './http/body.js';
export { errorTypeOf, isTransient } from './http/classify.js';
export { ClientEvents } from './pipeline/client-events.js';
export type { Disposable, Event } from './pipeline/event.js';
export type * from './pipeline/events.js';
export { hashSeed, type RandomSource, seededRandom } from './pipeline/seeded-random.js';
export type {
  CallContext,
  Next,
  Outcome,
  RequestBody,
  ResponseBody,
  RetryStopReason,
  Strategy,
  Transport,
  WireBody,
  WireResponse,
} from './pipeline/types.js';
export type {
  AdaptiveAlgorithm,
  AdaptiveConcurrencyOptions,
} from './strategies/adaptive-concurrency/options.js';
export type { AdaptiveThrottleOptions } from './strategies/adaptive-throttle/options.js';
export {
  type ChaosFault,
  type ChaosOptions,
  type FaultRequest,
  InjectedNetworkError,
  withInjectedFault,
} from './strategies/chaos/index.js';
export { memoryCooldownStore } from './strategies/cooldown/memory-store.js';
export type { CooldownNotice, CooldownStore } from './strategies/cooldown/store.js';
export {
  FALLBACK_HEADER,
  FALLBACK_TRIGGERS,
  type FallbackHandler,
  type FallbackOptions,
  type FallbackTrigger,
  type ServeStaleOptions,
  type StaleKey,
} from './strategies/fallback/index.js';
export { memoryQuotaStore } from './strategies/fleet-quota/memory-store.js';
export {
  FLEET_MEMBER_TTL_MS,
  type QuotaLease,
  type QuotaLeaseRequest,
  type QuotaStore,
} from './strategies/fleet-quota/store.js';
export type {
  HedgingBudgetOptions,
  HedgingDelayOptions,
  HedgingEndpoint,
  HedgingOptions,
  HedgingRouting,
} from './strategies/hedging/options.js';
export {
  type AfterResponseHook,
  type AfterResponseResult,
  type BeforeErrorHook,
  type BeforeRequestHook,
  type BeforeRetryHook,
  type BeforeRetryInfo,
  type HookResponse,
  type RetryableFailure,
  retryableFailure,
} from './strategies/hooks/index.js';
export { parseRetryAfter } from './strategies/retry/retry-after.js';
export {
  CALL_DURATION_BUCKETS,
  createOpenMetricsRegistry,
  DURATION_BUCKETS,
  ERROR_TYPES,
  type ExpositionFormat,
  FAMILY_NAMES,
  type MetricsOptions,
  type MetricsRegistry,
  type MetricsRequestHandler,
  type MetricsRouterOptions,
  metricsRegistry,
  metricsRouter,
  OPENMETRICS_CONTENT_TYPE,
  OTEL_INSTRUMENT_NAMES,
  type OtelMetricsOptions,
  renderMetrics,
  TEXT_CONTENT_TYPE,
  type TelemetryOptions,
  type TracingOptions,
} from './telemetry/index.js';

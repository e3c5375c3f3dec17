import { EventEmitter, ScopeHook } from '../pipeline/event.js';

/** Why a token fetch was started. */
export type FetchTrigger = 'cold' | 'soft_refresh' | 'reauthorize' | 'claims_challenge';

export interface TokenFetchStartEvent {
  readonly credential: string;
  readonly trigger: FetchTrigger;
}

export interface TokenFetchEndEvent {
  readonly credential: string;
  readonly trigger: FetchTrigger;
  readonly result: 'success' | 'failure';
  /** OAuth2 error code, HTTP status string, network error code, `timeout`, `malformed_response`, or `_OTHER`. */
  readonly errorType: string | undefined;
  readonly durationMs: number;
  /** Fingerprint of the new token on success (never the token). */
  readonly fingerprint: string | undefined;
}

/** One HTTP request to the token endpoint (the client-credentials POST). */
export interface TokenRequestEvent {
  /** `POST`. */
  readonly method: string;
  /** The token endpoint as configured or discovered (may hold a query: redact it). */
  readonly url: string;
}

/** How a token-endpoint request ended, as far as HTTP goes (nothing from the body). */
export interface TokenRequestOutcome {
  /** The response status, when a response arrived. */
  readonly status: number | undefined;
  /** The status as a string for 4xx/5xx, a network error code, `timeout`, or `_OTHER`. */
  readonly errorType: string | undefined;
}

export interface TokenCacheLookupEvent {
  readonly credential: string;
  readonly level: 'local' | 'store';
  readonly result: 'hit' | 'miss' | 'coalesced';
}

export interface TokenInvalidationEvent {
  readonly credential: string;
  readonly result: 'deleted' | 'newer_present' | 'absent';
  readonly rejectedFingerprint: string;
}

export interface TokenLeaseEvent {
  readonly credential: string;
  readonly result: 'won' | 'lost';
}

export interface TokenInUseEvent {
  readonly credential: string;
  readonly fingerprint: string;
  /** Unix epoch milliseconds when the token expires. */
  readonly expiresAtMs: number;
}

export interface TokenStoreStateEvent {
  readonly credential: string;
  readonly up: boolean;
}

export interface AuthCircuitEvent {
  readonly credential: string;
  readonly open: boolean;
  readonly reason: string;
}

/**
 * Every event a token manager emits; telemetry subscribes to these. The two scope hooks
 * let telemetry run the fetch, and the token-endpoint request within it, inside its own
 * context (span active, instrumentations suppressed) without `src/auth` knowing about it.
 */
export class TokenEvents {
  readonly fetchStart = new EventEmitter<TokenFetchStartEvent>();
  /**
   * Around one token fetch, after `fetchStart` and before `fetchEnd`: the token endpoint's
   * discovery (if any) and the request. The handler sees nothing of the response.
   */
  readonly fetchScope = new ScopeHook<TokenFetchStartEvent>();
  /** Around each token-endpoint request of a fetch (the POST, body read included). */
  readonly requestScope = new ScopeHook<TokenRequestEvent, TokenRequestOutcome>();
  readonly fetchEnd = new EventEmitter<TokenFetchEndEvent>();
  readonly cacheLookup = new EventEmitter<TokenCacheLookupEvent>();
  readonly invalidation = new EventEmitter<TokenInvalidationEvent>();
  readonly lease = new EventEmitter<TokenLeaseEvent>();
  readonly tokenInUse = new EventEmitter<TokenInUseEvent>();
  readonly storeState = new EventEmitter<TokenStoreStateEvent>();
  readonly authCircuit = new EventEmitter<AuthCircuitEvent>();
}

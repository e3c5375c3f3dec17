import { EventEmitter } from '../pipeline/event.js';

/** Why a token fetch was started. */
export type FetchTrigger = 'cold' | 'soft_refresh' | 'reauthorize';

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

/** Every event a token manager emits; telemetry subscribes to these. */
export class TokenEvents {
  readonly fetchStart = new EventEmitter<TokenFetchStartEvent>();
  readonly fetchEnd = new EventEmitter<TokenFetchEndEvent>();
  readonly cacheLookup = new EventEmitter<TokenCacheLookupEvent>();
  readonly invalidation = new EventEmitter<TokenInvalidationEvent>();
  readonly lease = new EventEmitter<TokenLeaseEvent>();
  readonly tokenInUse = new EventEmitter<TokenInUseEvent>();
  readonly storeState = new EventEmitter<TokenStoreStateEvent>();
  readonly authCircuit = new EventEmitter<AuthCircuitEvent>();
}

import type { RandomSource } from '../../pipeline/seeded-random.js';
import type { TokenEvents } from '../events.js';
import type { TokenStore } from '../store/types.js';
import type { TokenResponse } from '../token-response.js';
import type { Clock } from './clock.js';
import type { LocalCache } from './local-cache.js';
import type { StoreGuard } from './store-guard.js';
import type { RefreshTimingOptions } from './timing.js';
import type { TokenBackoff, TokenBackoffOptions } from './token-backoff.js';

/** The token a call sends, as the manager holds it in process (L1). */
export interface LocalToken {
  readonly value: string;
  readonly fingerprint: string;
  /** `Bearer`, or `DPoP` (RFC 9449). */
  readonly type: string;
  /** DPoP: the private JWK of the key the token is bound to, when it came with the token. */
  readonly dpopKey?: string;
  /** Unix epoch ms when the token request was sent. */
  readonly issuedAt: number;
  readonly lifetimeMs: number;
  /** `clock.now()` after which the token is refreshed in the background. */
  readonly softAt: number;
  /** `clock.now()` after which the token is never sent (expiry minus the hard skew). */
  readonly hardAt: number;
}

/** Everything the manager needs; built and validated by `clientCredentials`. */
export interface TokenManagerConfig extends TokenBackoffOptions {
  /** The credential key `k` (see `credentialKey`). */
  readonly key: string;
  readonly store: TokenStore;
  readonly events: TokenEvents;
  /**
   * One token-endpoint request; `claims` (a JSON object from a claims challenge) asks for a
   * token with those claims. Throws `TokenEndpointError`.
   */
  readonly fetchToken: (claims?: string) => Promise<TokenResponse>;
  readonly timing: RefreshTimingOptions;
  /** Refresh lease (ms); longer than the token-endpoint timeout. */
  readonly leaseMs: number;
  /** How long the store stays "down" after a failure before a probe (ms). */
  readonly storeBreakMs: number;
  /** Time and timers. `clientCredentials` passes `systemClock`. */
  readonly clock: Clock;
  /** Uniform numbers in [0, 1) for every jitter of the manager. `clientCredentials` passes `Math.random`. */
  readonly random: RandomSource;
}

/** What the parts of one manager share (internal). */
export interface ManagerParts {
  readonly config: TokenManagerConfig;
  /** This instance's lease owner id. */
  readonly owner: string;
  readonly guard: StoreGuard;
  readonly backoff: TokenBackoff;
  readonly cache: LocalCache;
  /** Subscribe to the store's announcements, once. */
  readonly subscribe: () => void;
}

import type { ClientEvents } from '../pipeline/client-events.js';
import type { Strategy } from '../pipeline/types.js';
import type { PresentedCertificate } from './client-certificate.js';
import type { TokenEvents } from './events.js';
import type { TokenStore } from './store/types.js';

/**
 * What `createClient({ auth })` accepts: something that can build the re-authorization
 * strategy for pipeline slot 4 (attach the bearer token per attempt, handle 401s).
 * `clientCredentials(...)` returns one.
 */
export interface Authorization {
  /** Low-cardinality credential name, the `credential` metric label. */
  readonly credential: string;
  /**
   * Where the tokens are shared. A store that can also hold quotas and cooldowns (the Redis
   * one) is what a client's `quota` and `cooldown` use unless given another.
   */
  readonly store?: TokenStore;
  /**
   * The TLS client certificate the tokens are bound to (RFC 8705 §3, `cnf.x5t#S256`): a
   * client's own transport presents it on connections to the origins the token goes to.
   */
  readonly clientCertificate?: PresentedCertificate;
  /** Token events (fetches, cache lookups, invalidations, store state) for telemetry. */
  readonly tokenEvents: TokenEvents;
  /** Build the re-authorization strategy for one client; it emits `reauthorize` on `events`. */
  createStrategy(events: ClientEvents): Strategy;
  /** Release timers, connections and leases. Called by `client.close()` of every client using it. */
  close(): Promise<void>;
}

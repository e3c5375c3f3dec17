import type { ClientEvents } from '../pipeline/client-events.js';
import type { Strategy } from '../pipeline/types.js';
import type { TokenEvents } from './events.js';

/**
 * What `createClient({ auth })` accepts: something that can build the re-authorization
 * strategy for pipeline slot 4 (attach the bearer token per attempt, handle 401s).
 * `clientCredentials(...)` returns one.
 */
export interface Authorization {
  /** Low-cardinality credential name, the `credential` metric label. */
  readonly credential: string;
  /** Token events (fetches, cache lookups, invalidations, store state) for telemetry. */
  readonly tokenEvents: TokenEvents;
  /** Build the re-authorization strategy for one client; it emits `reauthorize` on `events`. */
  createStrategy(events: ClientEvents): Strategy;
  /** Release timers, connections and leases. Called by `client.close()` of every client using it. */
  close(): Promise<void>;
}

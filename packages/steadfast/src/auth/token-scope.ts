import type { ClientEvents } from '../pipeline/client-events.js';
import type { CallContext, Next, Outcome, Strategy } from '../pipeline/types.js';

/**
 * Keeps the access token to the origins it belongs to: the re-authorization layer (which
 * attaches the token) runs only for requests to `allowed` origins — `baseUrl`'s and the
 * client's `authOrigins`. A request to any other origin (`fetch('http://elsewhere/x')`,
 * `fetch('//elsewhere/x')`) goes out without the token and without 401 handling, and a
 * `tokenWithheld` event says so (the call span records it). It wraps whatever
 * `Authorization` the client was given, so no implementation can leak a token elsewhere.
 */
export function scopeToOrigins(
  reauthorization: Strategy,
  allowed: ReadonlySet<string>,
  events: ClientEvents,
): Strategy {
  return {
    name: reauthorization.name,
    execute(ctx: CallContext, next: Next): Promise<Outcome> {
      if (allowed.has(ctx.origin)) return reauthorization.execute(ctx, next);
      // A caller-supplied Authorization header is the caller's business; ours never goes.
      if (events.tokenWithheld.hasListeners) events.tokenWithheld.emit({ ctx });
      return next(ctx);
    },
    dispose: reauthorization.dispose?.bind(reauthorization),
  };
}

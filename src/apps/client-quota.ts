/** What the quota decided about one request of a client. */
export interface QuotaDecision {
  readonly accepted: boolean;
  /** The client's quota, requests per second (`q` of `RateLimit-Policy`). */
  readonly perSecond: number;
  /** Requests the client may still send at once, after this one (`r` of `RateLimit`). */
  readonly remaining: number;
  /** Seconds until the client's bucket is full again, rounded up (`t` of `RateLimit`). */
  readonly resetSeconds: number;
  /** Seconds until the client's next request would be accepted, rounded up, at least 1. */
  readonly retryAfterSeconds: number;
}

/** What the quota did for one client id since the API started. */
export interface ClientQuotaCounts {
  /** Requests let through (under the quota, or while no quota was set). */
  readonly accepted: number;
  /** Requests refused with 429 by the quota. */
  readonly rateLimited: number;
}

interface ClientState {
  /** Requests the bucket holds now (fractional: it refills continuously). */
  tokens: number;
  /** When `tokens` was computed, ms on the quota's clock. */
  at: number;
  accepted: number;
  rateLimited: number;
}

/**
 * The flaky API's quota per client id: a token bucket per client that holds up to
 * `perSecond` requests and refills `perSecond` a second. A client that keeps at or under the
 * rate is never refused; after a quiet second it may send `perSecond` at once. A refused
 * request takes nothing from the bucket. The limit is read per request (it comes from the
 * request's fault profile), so a profile change applies at once. One entry per client id the
 * IdP vouched for: as many as the IdP has clients.
 *
 * @example
 * const quota = new ClientQuota();
 * const decision = quota.take('worker', 200); // undefined when perSecond is 0 (no quota)
 */
export class ClientQuota {
  readonly #clients = new Map<string, ClientState>();

  /** `now`: a monotonic clock in ms. Default: `performance.now()`. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * Let one request of `clientId` through, or refuse it, under a quota of `perSecond`
   * requests per second. `undefined` when `perSecond` is 0: no quota, the request is counted
   * as accepted.
   */
  take(clientId: string, perSecond: number): QuotaDecision | undefined {
    const now = this.now();
    let state = this.#clients.get(clientId);
    if (state === undefined) {
      state = { tokens: perSecond, at: now, accepted: 0, rateLimited: 0 };
      this.#clients.set(clientId, state);
    }
    if (perSecond <= 0) {
      // Unlimited now: a quota set later starts with a full bucket.
      state.tokens = Number.POSITIVE_INFINITY;
      state.accepted += 1;
      return undefined;
    }
    state.tokens = Math.min(perSecond, state.tokens + ((now - state.at) * perSecond) / 1000);
    state.at = now;
    const accepted = state.tokens >= 1;
    if (accepted) {
      state.tokens -= 1;
      state.accepted += 1;
    } else {
      state.rateLimited += 1;
    }
    return {
      accepted,
      perSecond,
      remaining: Math.floor(state.tokens),
      resetSeconds: Math.ceil((perSecond - state.tokens) / perSecond),
      retryAfterSeconds: Math.max(1, Math.ceil(Math.max(0, 1 - state.tokens) / perSecond)),
    };
  }

  /** Counts by client id. */
  counts(): Record<string, ClientQuotaCounts> {
    const out: Record<string, ClientQuotaCounts> = {};
    for (const [clientId, { accepted, rateLimited }] of this.#clients) {
      out[clientId] = { accepted, rateLimited };
    }
    return out;
  }
}

/**
 * The response headers of a decision (IETF httpapi RateLimit headers draft), plus
 * `Retry-After` on a refusal: `RateLimit-Policy: "default";q=200;w=1`,
 * `RateLimit: "default";r=37;t=1`.
 */
export function quotaHeaders(decision: QuotaDecision): Record<string, string> {
  return {
    'ratelimit-policy': `"default";q=${decision.perSecond};w=1`,
    ratelimit: `"default";r=${decision.remaining};t=${decision.resetSeconds}`,
    ...(decision.accepted ? {} : { 'retry-after': String(decision.retryAfterSeconds) }),
  };
}

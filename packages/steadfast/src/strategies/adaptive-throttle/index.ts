import type { adaptiveThrottleSchema } from '../../config/adaptive-schema.js';
import type { Resolved } from '../../config/schema.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { CallContext, Next, Outcome, Strategy } from '../../pipeline/types.js';
import { refusal, reportGrant } from '../admission.js';
import { verdictOf } from './verdict.js';
import { ThrottleWindow } from './window.js';

export type ResolvedAdaptiveThrottleOptions = Readonly<Resolved<typeof adaptiveThrottleSchema>>;

/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"), per origin. Each
 * origin keeps, over the last `windowMs`, its `requests` (attempts this layer saw: sent, or
 * refused here) and `accepts` (attempts the backend did not refuse, verdict.ts). Before an
 * attempt goes on, it is refused here with probability
 *
 *     max(0, (requests − k × accepts) / (requests + 1))
 *
 * so the backend keeps getting about `k` times what it accepts, the rest refused at no cost
 * to it. Refusals here count as requests: that is what keeps the probability up while the
 * backend refuses, and what lets it fall as accepts come back. A refused attempt fails with
 * `RateLimitedError` (limiter `adaptive_throttle`, reason `throttled`, wait `Infinity`),
 * never retried.
 *
 * The first admission layer: a local refusal costs no permit of the rate limiter or the fleet
 * quota and no wait in a cooldown. An attempt is counted when its outcome is known, so an
 * attempt an inner layer refused is not counted at all.
 */
export class AdaptiveThrottle implements Strategy {
  readonly name = 'adaptive_throttle';
  readonly #origins = new Map<string, ThrottleWindow>();
  readonly #random: () => number;

  constructor(
    private readonly options: ResolvedAdaptiveThrottleOptions,
    private readonly events: ClientEvents,
  ) {
    this.#random = options.random ?? Math.random;
  }

  /** Requests and accepts in each origin's window now, and the probability they give. */
  counts(): ReadonlyMap<string, { requests: number; accepts: number; probability: number }> {
    const now = performance.now();
    const counts = new Map<string, { requests: number; accepts: number; probability: number }>();
    for (const [origin, window] of this.#origins) {
      const probability = window.rejectProbability(now, this.options.k);
      counts.set(origin, { requests: window.requests, accepts: window.accepts, probability });
    }
    return counts;
  }

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const now = performance.now();
    const window = this.#windowOf(ctx.origin, now);
    const probability = window.rejectProbability(now, this.options.k);
    if (probability > 0 && this.#random() < probability) {
      window.count(now, false);
      if (this.events.throttle.hasListeners) this.events.throttle.emit({ ctx, probability });
      return Promise.resolve(
        refusal(this.events, ctx, 'adaptive_throttle', 1, 'throttled', Number.POSITIVE_INFINITY),
      );
    }
    reportGrant(this.events, ctx, 'adaptive_throttle', 1, 0);
    const attempts = ctx.attempts;
    return next(ctx).then((outcome) => {
      const verdict = verdictOf(outcome, ctx.attempts > attempts);
      if (verdict !== 'not_sent') window.count(performance.now(), verdict === 'accepted');
      return outcome;
    });
  }

  #windowOf(origin: string, now: number): ThrottleWindow {
    let window = this.#origins.get(origin);
    if (window) return window;
    if (this.#origins.size >= this.options.maxOrigins) this.#forgetOne(now);
    window = new ThrottleWindow(this.options.windowMs, this.options.buckets, now);
    this.#origins.set(origin, window);
    return window;
  }

  /** Forget an origin with nothing counted any more, else the least recently used one. */
  #forgetOne(now: number): void {
    let oldest: [string, ThrottleWindow] | undefined;
    for (const entry of this.#origins) {
      if (entry[1].isEmpty(now)) {
        this.#origins.delete(entry[0]);
        return;
      }
      if (!oldest || entry[1].usedAt < oldest[1].usedAt) oldest = entry;
    }
    if (oldest) this.#origins.delete(oldest[0]);
  }
}

import type { ResolvedHedgingOptions } from '../../config/hedging-schema.js';
import { AbortError, HedgeCancelledError } from '../../errors.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import { ForkedCall } from '../../pipeline/forked-call.js';
import { discard } from '../../pipeline/outcomes.js';
import { onAbort } from '../../pipeline/signals.js';
import type { CallContext, Next, Outcome, Strategy } from '../../pipeline/types.js';
import type { RetryBudget } from '../retry/budget.js';
import { HedgingBudget } from './budget.js';
import { LearnedDelay } from './delay.js';
import { EndpointGroup } from './endpoints.js';
import { failureRank, isCensored, type Verdict, verdictOf } from './verdict.js';

export type { ResolvedHedgingOptions } from '../../config/hedging-schema.js';

/**
 * Latency hedging (`hedging` in the client options; off unless given). When the first
 * attempt of a call has not answered within the hedge delay, another goes — to the same
 * origin, or to the next endpoint of the group — and the call takes the first acceptable
 * outcome (verdict.ts); the others are cancelled with `HedgeCancelledError` (each ends with
 * an `AbortError` whose cause it is), which ends their requests and releases their sockets,
 * and a response that still comes is dumped. A failure sends the next hedge at once. When
 * every attempt failed, the call gets the most informative failure (`failureRank`) and the
 * others are dumped.
 *
 * Cancelling, cheaply: an `AbortSignal` costs ~5 µs to make and each listener on it ~3 µs
 * more (Node 20), several times the rest of the pipeline, for every call — and most calls
 * are never hedged. So unless a layer below waits (`cancelWaits`: the admission layers,
 * whose waits a cancelled attempt must leave), an attempt's fork carries the caller's
 * signal as it is, and is cancelled where it stands: on the wire through its attempt
 * signal (the transport aborts the request), and before the wire by its `signal` becoming
 * one aborted with `HedgeCancelledError`, which the attempt timeout reads before anything
 * is sent. With `cancelWaits`, each attempt has an `AbortController` of its own, linked to
 * the caller's signal by one listener.
 *
 * Each attempt runs on a `ForkedCall` of the call — its own endpoint, headers (so its own
 * token and `traceparent`), signal and slots — through re-authorization, admission, hooks
 * and the breaker of its endpoint. The delay is fixed (`delayMs`) or learnt per origin
 * (delay.ts); hedges are capped by `maxHedgedAttempts` and by a budget (the retry budget's
 * Finagle model: `minPerSecond` × window + `ratio` × calls). Calls that may not be re-sent
 * (not idempotent, unless `hedgeUnsafeMethods`; a one-shot body) go through untouched.
 */
export class Hedging implements Strategy {
  readonly name = 'hedging';
  /** @internal */ readonly budget: HedgingBudget | undefined;
  /** @internal */ readonly delays: LearnedDelay | undefined;
  /** @internal */ readonly group: EndpointGroup | undefined;
  /** @internal */ closed = false;

  constructor(
    /** @internal */ readonly settings: ResolvedHedgingOptions,
    /** @internal */ readonly events: ClientEvents,
    /** @internal A layer below waits (for a permit, a pause's end): cancel through a signal. */
    readonly cancelWaits = false,
  ) {
    const { budget, endpoints } = settings;
    this.budget = budget
      ? new HedgingBudget(budget.ratio, budget.minPerSecond, budget.windowMs)
      : undefined;
    this.delays =
      settings.delayMs === undefined ? new LearnedDelay(settings.learnedDelay) : undefined;
    this.group =
      endpoints.length > 0
        ? new EndpointGroup(endpoints, settings.routing === 'weighted', settings.random)
        : undefined;
  }

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const s = this.settings;
    if (
      !ctx.body.replayable ||
      (!ctx.idempotent && !s.hedgeUnsafeMethods) ||
      ctx.hedge !== undefined ||
      (s.shouldHedge !== undefined && !s.shouldHedge(ctx))
    )
      return next(ctx);
    // Deposit once per call: a retry runs the group again, but it is one call.
    if (ctx.attempt === 0) this.budget?.recordCall(ctx.startedAt);
    return new Promise((resolve) => new HedgedCall(this, ctx, next, resolve).start());
  }

  /** The hedge delay for an attempt to `origin`, ms. */
  delayFor(origin: string): number {
    return this.settings.delayMs ?? this.delays!.delayFor(origin);
  }

  dispose(): void {
    this.closed = true;
  }
}

/** One attempt of a hedged call. */
interface Lane {
  readonly index: number;
  readonly fork: ForkedCall;
  /** The attempt's own signal's controller (`cancelWaits`), else none. */
  readonly controller: AbortController | undefined;
  readonly startedAt: number;
  /** The part of the budget it took its hedge from (given back if it is never sent). */
  readonly paid: RetryBudget | undefined;
  /** Endpoint index in the group, -1 for the call's own origin. */
  readonly endpoint: number;
  forgetCaller: (() => void) | undefined;
  done: boolean;
}

/** The attempts of one call through the hedging layer, until one of them wins. */
class HedgedCall {
  readonly #lanes: Lane[] = [];
  /** Lanes running now. */
  #active = 0;
  /** Lanes that count toward 1 + maxHedgedAttempts: every one but those never sent. */
  #counted = 0;
  /** Group endpoints used and refused in this call (bit sets). */
  #used = 0;
  #refused = 0;
  /** The call's own origin refused an attempt (a call outside the group). */
  #ownRefused = false;
  #timer: NodeJS.Timeout | undefined;
  /** What the timer waits, ms. */
  #waitMs = 0;
  #settled = false;
  /** The hedge the budget refused (announced once; asking again, it may use the reserve). */
  #refusedHedge = 0;
  /** A `hedge` event was emitted: `hedgeEnd` follows. */
  #announced = false;
  #best: Outcome | undefined;
  #bestRank = 0;
  readonly #baseAttempt: number;
  readonly #routed: boolean;

  constructor(
    private readonly h: Hedging,
    private readonly ctx: CallContext,
    private readonly next: Next,
    private readonly resolve: (outcome: Outcome) => void,
  ) {
    this.#baseAttempt = ctx.attempt;
    this.#routed = h.group?.has(ctx.origin) === true;
  }

  start(): void {
    this.#launch('delay', false);
  }

  /**
   * Send the next attempt; false when none went. `trigger` says why (for a hedge);
   * `replacing`: it replaces an attempt that was never sent, which `paidBefore` says took a
   * hedge from the budget (given back: this one takes it again), else it takes none.
   */
  #launch(trigger: 'delay' | 'failure', replacing: boolean, paidBefore = false): boolean {
    const h = this.h;
    const ctx = this.ctx;
    const index = this.#lanes.length;
    const endpoint = this.#routed ? h.group!.pick(this.#used, this.#refused) : -1;
    if (endpoint === -1 && (this.#routed || this.#ownRefused)) return false;
    const origin = endpoint === -1 ? ctx.origin : h.group!.origins[endpoint]!;
    let paid: RetryBudget | undefined;
    if (index > 0) {
      if (this.#counted >= 1 + h.settings.maxHedgedAttempts) return false;
      if (h.closed || ctx.signal?.aborted) return false;
      if ((!replacing || paidBefore) && h.budget !== undefined) {
        // A call the budget refused before, or a replacement, may take from the reserve.
        paid = h.budget.take(this.#refusedHedge === index || replacing);
        if (paid === undefined) {
          if (this.#refusedHedge !== index)
            this.#announce(index, origin, trigger, 'budget_exhausted');
          this.#refusedHedge = index;
          // Ask again after twice the wait, while the attempts are out: when the budget is
          // short, it goes to the calls that stay slow, not to the first past the delay.
          if (trigger === 'delay') this.#schedule(Math.max(1, 2 * this.#waitMs), performance.now());
          return false;
        }
      }
      this.#announce(index, origin, trigger, undefined);
    }

    const caller = ctx.signal;
    const controller = h.cancelWaits ? new AbortController() : undefined;
    const startedAt = performance.now();
    // Without a controller the fork carries the caller's signal (or none) until it is cancelled.
    const fork = new ForkedCall(ctx, index, origin, controller?.signal ?? caller);
    fork.attempt = this.#baseAttempt + index;
    const lane: Lane = {
      index,
      fork,
      controller,
      startedAt,
      paid,
      endpoint,
      forgetCaller: undefined,
      done: false,
    };
    if (controller !== undefined && caller !== undefined) {
      // The caller's abort reaches every attempt (one listener per attempt, no AbortSignal.any).
      if (caller.aborted) controller.abort(caller.reason);
      else lane.forgetCaller = onAbort(caller, () => controller.abort(caller.reason));
    }
    if (endpoint !== -1) this.#used |= 1 << endpoint;
    this.#lanes.push(lane);
    this.#active++;
    this.#counted++;
    this.#armTimer(origin, startedAt);
    let pending: Promise<Outcome>;
    try {
      pending = this.next(fork);
    } catch (error) {
      pending = Promise.reject(error); // a layer that threw instead of returning an outcome
    }
    pending.then(
      (outcome) => this.#ended(lane, outcome),
      (error: unknown) => this.#ended(lane, { kind: 'error', error: error as Error }),
    );
    return true;
  }

  /** After each launch: the next hedge goes when no attempt answered within the delay. */
  #armTimer(origin: string, now: number): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#counted >= 1 + this.h.settings.maxHedgedAttempts) return;
    this.#schedule(this.h.delayFor(origin), now);
  }

  #schedule(waitMs: number, now: number): void {
    // No hedge could answer before the deadline: no timer.
    if (now + waitMs >= this.ctx.deadline) return;
    this.#waitMs = waitMs;
    // Whole milliseconds: Node keeps one timer list per duration.
    this.#timer = setTimeout(this.#onDelay, waitMs > 0 ? Math.max(1, Math.round(waitMs)) : 0);
  }

  readonly #onDelay = (): void => {
    this.#timer = undefined;
    if (!this.#settled) this.#launch('delay', false);
  };

  #ended(lane: Lane, outcome: Outcome): void {
    lane.done = true;
    lane.forgetCaller?.();
    if (this.#settled) {
      discard(outcome); // a loser's late answer: its connection is freed or dropped
      return;
    }
    this.#active--;
    const verdict = verdictOf(outcome);
    const now = performance.now();
    this.#learn(lane, outcome, verdict, now);
    if (verdict === 'accept') {
      this.#settle(lane, outcome, now);
      return;
    }
    this.#keepFailure(outcome, verdict);
    let launched: boolean;
    if (verdict === 'not_sent') {
      // As if it had never been made: the next endpoint gets the attempt, and the budget
      // the attempt had taken.
      this.#counted--;
      if (lane.endpoint === -1) this.#ownRefused = true;
      else this.#refused |= 1 << lane.endpoint;
      lane.paid?.refund();
      launched = this.#launch('failure', true, lane.paid !== undefined);
    } else {
      launched = this.#launch('failure', false);
    }
    if (!launched && this.#active === 0) this.#settle(undefined, this.#takeBest(), now);
  }

  /** Feed the learnt delay: a duration, or a lower bound for an attempt cut short. */
  #learn(lane: Lane, outcome: Outcome, verdict: Verdict, now: number): void {
    const delays = this.h.delays;
    if (delays === undefined || verdict === 'not_sent') return;
    if (isCensored(outcome)) delays.recordCensored(lane.fork.origin, now - lane.startedAt, now);
    else delays.record(lane.fork.origin, now - lane.startedAt, now);
  }

  /** Keep the most informative failure so far, dumping the one it replaces. */
  #keepFailure(outcome: Outcome, verdict: Verdict): void {
    const rank = failureRank(outcome, verdict);
    if (this.#best !== undefined && rank < this.#bestRank) {
      discard(outcome);
      return;
    }
    if (this.#best !== undefined) discard(this.#best);
    this.#best = outcome;
    this.#bestRank = rank;
  }

  #takeBest(): Outcome {
    const best = this.#best!;
    this.#best = undefined;
    return best;
  }

  #settle(winner: Lane | undefined, outcome: Outcome, now: number): void {
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#best !== undefined) discard(this.#takeBest());
    const ctx = this.ctx;
    let cancelled = 0;
    let attempt = ctx.attempt;
    for (const lane of this.#lanes) {
      if (lane.fork.attempt > attempt) attempt = lane.fork.attempt;
      if (lane.done) continue;
      cancelled++;
      // It ran at least this long: a lower bound for the learnt delay.
      this.h.delays?.recordCensored(lane.fork.origin, now - lane.startedAt, now);
      cancel(lane, new HedgeCancelledError(ctx.method, lane.fork.url));
    }
    // A retry after this group numbers its attempts after every one of the group.
    ctx.attempt = attempt;
    const { hedgeEnd } = this.h.events;
    if (this.#announced && hedgeEnd.hasListeners) {
      hedgeEnd.emit({
        ctx,
        sent: this.#lanes.length,
        winner: winner?.index,
        origin: winner?.fork.origin,
        cancelled,
      });
    }
    this.resolve(outcome);
  }

  #announce(
    hedge: number,
    origin: string,
    trigger: 'delay' | 'failure',
    skipped: 'budget_exhausted' | undefined,
  ): void {
    this.#announced = true;
    const { hedge: events } = this.h.events;
    if (events.hasListeners) {
      events.emit({
        ctx: this.ctx,
        hedge,
        origin,
        trigger,
        delayMs: this.h.delayFor(origin),
        skipped,
      });
    }
  }
}

/** End an attempt another one answered before: its request, or what it would still send. */
function cancel(lane: Lane, reason: HedgeCancelledError): void {
  if (lane.controller !== undefined) {
    lane.controller.abort(reason); // the attempt timeout and the waits below listen to it
    return;
  }
  // The fork's signal turns aborted; on the wire, the transport aborts the request with an
  // AbortError whose cause is `reason`, as a lane with a controller ends (telemetry tells a
  // cancelled hedge, `error.type` cancelled, from a caller's abort by that cause).
  lane.fork.cancel(reason, new AbortError(lane.fork.method, lane.fork.url, { cause: reason }));
}

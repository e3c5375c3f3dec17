import type { ResolvedOptions } from '../../config/options.js';
import {
  ClientClosedError,
  HookError,
  NonReplayableBodyError,
  RetryBudgetExhaustedError,
} from '../../errors.js';
import { errorTypeOf, isTransient, neverReachedServer } from '../../http/classify.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import { abortedOutcome, discard } from '../../pipeline/outcomes.js';
import { sleep } from '../../pipeline/sleep.js';
import type {
  CallContext,
  Next,
  Outcome,
  RetryStopReason,
  Strategy,
} from '../../pipeline/types.js';
import { isThenable, runBeforeRetry } from '../hooks/run.js';
import type { BeforeRetryHook, BeforeRetryInfo } from '../hooks/types.js';
import { type BackoffSettings, backoffDelay } from './backoff.js';
import { RetryBudget } from './budget.js';
import { parseRetryAfter } from './retry-after.js';

type RetrySettings = Exclude<ResolvedOptions['retry'], false>;

const backoffOf = (settings: RetrySettings): BackoffSettings => ({
  kind: settings.backoff,
  jitter: settings.jitter,
  baseDelayMs: settings.baseDelayMs,
  maxDelayMs: settings.maxDelayMs,
  random: settings.random,
});

/**
 * Retries transient outcomes (5xx except 501, 408, 429, network errors, attempt timeouts)
 * with backoff and jitter, within the call's deadline and the client's retry budget. A
 * `Retry-After` is obeyed exactly — never re-sent earlier — and when it asks for longer
 * than `maxRetryAfterMs` or than the time left, the response is returned at once. Unsafe methods are re-sent only when the request provably never
 * reached the server, or when the call is marked idempotent.
 *
 * A call's own `retry` (`ctx.overrides.retry`: `false`, or the client's settings with the
 * call's merged over them) replaces the client's for that call; the budget stays the
 * client's. With `retry: false` on the client, only calls that bring their own retry.
 */
export class Retry implements Strategy {
  readonly name = 'retry';
  readonly #budget: RetryBudget | undefined;
  readonly #backoff: BackoffSettings | undefined;
  /** Aborted by `dispose()`: calls sleeping before a retry wake up and end at once. */
  readonly #closing = new AbortController();

  constructor(
    private readonly settings: RetrySettings | false,
    private readonly events: ClientEvents,
    private readonly beforeRetry: readonly BeforeRetryHook[] | undefined = undefined,
  ) {
    const budget = settings ? settings.budget : false;
    this.#budget = budget
      ? new RetryBudget(budget.ratio, budget.minRetriesPerSecond, budget.windowMs)
      : undefined;
    this.#backoff = settings ? backoffOf(settings) : undefined;
  }

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    // Retries off for this client and the call brings none: pass through without the async
    // frame (the layer is always in the pipeline, since a call may bring its own `retry`).
    if (this.settings === false && ctx.overrides?.retry === undefined) return next(ctx);
    return this.#execute(ctx, next, this.beforeRetry);
  }

  /**
   * This retry layer — its budget, its settings — running `beforeRetry` instead of the
   * constructor's hooks: the layer of a derived client with hooks of its own (`extend`).
   */
  withBeforeRetry(beforeRetry: readonly BeforeRetryHook[] | undefined): Strategy {
    return {
      name: this.name,
      execute: (ctx, next) =>
        this.settings === false && ctx.overrides?.retry === undefined
          ? next(ctx)
          : this.#execute(ctx, next, beforeRetry),
    };
  }

  async #execute(
    ctx: CallContext,
    next: Next,
    beforeRetry: readonly BeforeRetryHook[] | undefined,
  ): Promise<Outcome> {
    this.#budget?.recordCall(ctx.startedAt);
    const own = ctx.overrides?.retry as RetrySettings | false | undefined;
    const settings = own === undefined ? this.settings : own;
    if (settings === false) return next(ctx);
    let backoff = own === undefined ? this.#backoff : undefined;
    let outcome = await next(ctx);
    let previousDelayMs = settings.baseDelayMs;

    for (let retry = 1; ; retry++) {
      if (!shouldRetry(settings, outcome, ctx)) return outcome;
      const trigger = errorTypeOf(outcome) ?? '_OTHER';

      if (ctx.signal?.aborted) return this.#stop(ctx, outcome, 'aborted', trigger);
      if (retry > settings.maxRetries) return this.#stop(ctx, outcome, 'max_retries', trigger);
      if (!ctx.idempotent && !settings.retryUnsafeMethods && !neverReachedServer(outcome)) {
        return this.#stop(ctx, outcome, 'method_not_idempotent', trigger);
      }
      if (!ctx.body.replayable) return this.#stop(ctx, outcome, 'body_not_replayable', trigger);

      const retryAfterMs =
        outcome.kind === 'response'
          ? parseRetryAfter(outcome.response.headers['retry-after'])
          : undefined;
      // Never re-send before the server said it may come back: a Retry-After longer than we
      // are willing to wait ends the call now, with the server's answer.
      if (retryAfterMs !== undefined && retryAfterMs > settings.maxRetryAfterMs)
        return this.#stop(ctx, outcome, 'retry_after_too_long', trigger);
      backoff ??= backoffOf(settings);
      const delayMs = retryAfterMs ?? backoffDelay(backoff, retry, previousDelayMs);
      // Waiting past the deadline only to fail with a timeout helps nobody: return now.
      if (performance.now() + delayMs >= ctx.deadline)
        return this.#stop(ctx, outcome, 'deadline', trigger);
      if (this.#budget && !this.#budget.tryRetry())
        return this.#stop(ctx, outcome, 'budget_exhausted', trigger);
      if (beforeRetry !== undefined) {
        const info: BeforeRetryInfo = {
          attempt: ctx.attempt + 1,
          delayMs,
          delaySource: retryAfterMs !== undefined ? 'retry_after' : 'backoff',
          reason: trigger,
          status: outcome.kind === 'response' ? outcome.response.status : undefined,
          error: outcome.kind === 'error' ? outcome.error : undefined,
        };
        const ran = runBeforeRetry(beforeRetry, ctx, info, this.events);
        const verdict = isThenable(ran) ? await ran : ran; // no promise turn for sync hooks
        if (verdict !== true) {
          this.#budget?.refund(); // no retry was made
          if (verdict === false) return this.#stop(ctx, outcome, 'hook_cancelled', trigger);
          discard(outcome);
          return { kind: 'error', error: verdict };
        }
      }

      if (this.events.retry.hasListeners) {
        this.events.retry.emit({
          ctx,
          nextAttempt: ctx.attempt + 1,
          reason: trigger,
          delayMs,
          delaySource: retryAfterMs !== undefined ? 'retry_after' : 'backoff',
        });
      }
      discard(outcome);
      if (delayMs > 0 && !(await sleep(delayMs, ctx.signal, this.#closing.signal))) {
        if (this.#closing.signal.aborted) {
          return { kind: 'error', error: new ClientClosedError(ctx.client, ctx.method, ctx.url) };
        }
        return abortedOutcome(ctx);
      }
      previousDelayMs = delayMs;
      ctx.attempt++;
      outcome = await next(ctx);
    }
  }

  dispose(): void {
    this.#closing.abort();
  }

  /** End the call with the last outcome, recording why no further attempt was made. */
  #stop(ctx: CallContext, outcome: Outcome, reason: RetryStopReason, trigger: string): Outcome {
    ctx.retryStopReason = reason;
    if (this.events.retryGiveUp.hasListeners)
      this.events.retryGiveUp.emit({ ctx, reason, trigger });
    if (outcome.kind === 'error') {
      if (reason === 'budget_exhausted') {
        return {
          kind: 'error',
          error: new RetryBudgetExhaustedError(ctx.method, ctx.url, { cause: outcome.error }),
        };
      }
      if (reason === 'body_not_replayable') {
        return {
          kind: 'error',
          error: new NonReplayableBodyError(ctx.method, ctx.url, { cause: outcome.error }),
        };
      }
    }
    return outcome;
  }
}

function shouldRetry(settings: RetrySettings, outcome: Outcome, ctx: CallContext): boolean {
  const byDefault = isTransient(outcome);
  const custom = settings.shouldRetry;
  // A hook that threw ends the call, whatever a custom rule would say.
  if (custom === undefined || (outcome.kind === 'error' && outcome.error instanceof HookError))
    return byDefault;
  return custom(outcome, ctx, byDefault);
}

import { ResponseRejectedError, ResponseTooLargeError } from '../../errors.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { CallContext, Next, Outcome, Strategy, WireHeaders } from '../../pipeline/types.js';
import { isRetryableFailure, PeekableResponse, wireResponseOf } from './response.js';
import { hookError, isThenable } from './run.js';
import type { AfterResponseHook, BeforeRequestHook } from './types.js';

export { retryableFailure } from './response.js';
export { resolveHooks, runBeforeError, runBeforeRetry } from './run.js';
export type * from './types.js';

/**
 * The user's per-attempt hooks (`ClientOptions.hooks`): `beforeRequest` before each wire
 * attempt, `afterResponse` on each response. Only in the pipeline when one of them is given.
 *
 * It sits inside re-authorization (the token is on `ctx.headers` when `beforeRequest`
 * runs, and every 401 re-send runs it again) and outside the circuit breaker: the breaker,
 * the attempt span and the attempt metrics see the wire as it was, a `HookError` never
 * reaches the breaker, and what `afterResponse` returns is what re-authorization and retry
 * decide on. A hook that throws ends the attempt with a `HookError`, which is not retried.
 */
export class Hooks implements Strategy {
  readonly name = 'hooks';

  constructor(
    private readonly beforeRequest: readonly BeforeRequestHook[] | undefined,
    private readonly afterResponse: readonly AfterResponseHook[] | undefined,
    private readonly events: ClientEvents,
  ) {}

  async execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const beforeRequest = this.beforeRequest;
    if (beforeRequest !== undefined) {
      const headers = ctx.headers;
      const before = this.events.hook.hasListeners ? { ...headers } : undefined;
      for (let i = 0; i < beforeRequest.length; i++) {
        try {
          const done = beforeRequest[i]!(ctx);
          if (isThenable(done)) await done;
        } catch (error) {
          return {
            kind: 'error',
            error: hookError('beforeRequest', i, beforeRequest.length, ctx, error),
          };
        }
      }
      lowerCaseNames(headers);
      if (before !== undefined) this.#reportHeaders(ctx, before, headers);
    }
    const outcome = await next(ctx);
    const afterResponse = this.afterResponse;
    if (afterResponse === undefined || outcome.kind !== 'response') return outcome;
    return this.#afterResponse(ctx, outcome, afterResponse);
  }

  async #afterResponse(
    ctx: CallContext,
    outcome: Outcome & { kind: 'response' },
    hooks: readonly AfterResponseHook[],
  ): Promise<Outcome> {
    let response = outcome.response;
    let changed = false;
    for (let i = 0; i < hooks.length; i++) {
      const seen = new PeekableResponse(response);
      let result: unknown;
      try {
        result = hooks[i]!(ctx, seen);
        if (isThenable(result)) result = await result;
      } catch (error) {
        // The body could not be read (reset mid-body, too large, body timeout): that is the
        // attempt's failure, typed by the body, not the hook's.
        const readError = seen.readError;
        if (readError !== undefined && error === readError)
          return { kind: 'error', error: readError };
        seen.discard();
        return { kind: 'error', error: hookError('afterResponse', i, hooks.length, ctx, error) };
      }
      if (result === undefined) {
        if (!seen.read) continue;
        try {
          response = await seen.passedOn();
        } catch (error) {
          return { kind: 'error', error: error as Error };
        }
        changed = true;
        continue;
      }
      seen.discard();
      if (isRetryableFailure(result)) {
        this.#reportReplaced(ctx, 'retryable_failure');
        return {
          kind: 'error',
          error: new ResponseRejectedError(ctx.method, ctx.url, response.status),
        };
      }
      if (!(result instanceof Response)) {
        return {
          kind: 'error',
          error: hookError(
            'afterResponse',
            i,
            hooks.length,
            ctx,
            new TypeError(
              'an afterResponse hook must return a Response, retryableFailure() or nothing',
            ),
            'returned something that is not a Response',
          ),
        };
      }
      try {
        response = await wireResponseOf(result, ctx);
      } catch (error) {
        // Too large to read whole: the call's limit, as for any body, not the hook's fault.
        if (error instanceof ResponseTooLargeError) return { kind: 'error', error };
        return { kind: 'error', error: hookError('afterResponse', i, hooks.length, ctx, error) };
      }
      changed = true;
      this.#reportReplaced(ctx, 'response');
    }
    return changed ? { kind: 'response', response } : outcome;
  }

  #reportHeaders(ctx: CallContext, before: WireHeaders, after: WireHeaders): void {
    const names: string[] = [];
    for (const name in after) if (before[name] !== after[name]) names.push(name);
    for (const name in before) if (!(name in after)) names.push(name);
    if (names.length > 0)
      this.events.hook.emit({ ctx, hook: 'beforeRequest', change: 'headers_set', headers: names });
  }

  #reportReplaced(ctx: CallContext, replacement: 'response' | 'retryable_failure'): void {
    if (this.events.hook.hasListeners)
      this.events.hook.emit({
        ctx,
        hook: 'afterResponse',
        change: 'outcome_replaced',
        replacement,
      });
  }
}

/** Wire header names are lower-case: a hook that wrote `X-Request-Id` gets it moved. */
function lowerCaseNames(headers: WireHeaders): void {
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (lower === name) continue;
    headers[lower] = headers[name]!;
    delete headers[name];
  }
}

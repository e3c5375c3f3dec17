import { HookError, type HookName } from '../../errors.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { CallContext } from '../../pipeline/types.js';
import type {
  AfterResponseHook,
  BeforeErrorHook,
  BeforeRequestHook,
  BeforeRetryHook,
  BeforeRetryInfo,
  MaybePromise,
  ResolvedHooks,
} from './types.js';

// Running the user's hooks: in order, awaiting only what returns a promise (a synchronous
// hook costs no promise turn), every throw turned into a HookError naming the hook.

type HookList<F> = F | readonly F[] | undefined;

/** The hooks as the options gave them (one function or a list each), as non-empty lists. */
export function resolveHooks(hooks: Readonly<Record<string, unknown>> | undefined): ResolvedHooks {
  const given = hooks ?? {};
  return {
    beforeRequest: listOf(given.beforeRequest as HookList<BeforeRequestHook>),
    afterResponse: listOf(given.afterResponse as HookList<AfterResponseHook>),
    beforeRetry: listOf(given.beforeRetry as HookList<BeforeRetryHook>),
    beforeError: listOf(given.beforeError as HookList<BeforeErrorHook>),
  };
}

function listOf<F>(given: HookList<F>): readonly F[] | undefined {
  if (given === undefined) return undefined;
  const list = Array.isArray(given) ? [...(given as readonly F[])] : [given as F];
  return list.length > 0 ? Object.freeze(list) : undefined;
}

export function isThenable<T>(value: MaybePromise<T>): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The error of hook `index` of `hooks` that threw `cause` (or returned what it may not). */
export function hookError(
  hook: HookName,
  index: number,
  count: number,
  ctx: CallContext | undefined,
  cause: unknown,
  detail?: string,
): HookError {
  return new HookError(hook, index, ctx, {
    cause,
    listed: count > 1,
    ...(detail === undefined ? {} : { detail }),
  });
}

/**
 * Run the `beforeRetry` hooks: `true` to go on, `false` when one cancelled the retry (the
 * ones after it do not run), or the `HookError` of one that threw. Synchronous while the
 * hooks are.
 */
export function runBeforeRetry(
  hooks: readonly BeforeRetryHook[],
  ctx: CallContext,
  info: BeforeRetryInfo,
  events: ClientEvents,
): MaybePromise<boolean | HookError> {
  for (let i = 0; i < hooks.length; i++) {
    let verdict: unknown;
    try {
      verdict = hooks[i]!(ctx, info);
    } catch (error) {
      return hookError('beforeRetry', i, hooks.length, ctx, error);
    }
    if (isThenable(verdict)) return finishBeforeRetry(hooks, i, verdict, ctx, info, events);
    if (verdict === false) return cancelled(ctx, events);
  }
  return true;
}

async function finishBeforeRetry(
  hooks: readonly BeforeRetryHook[],
  index: number,
  pending: PromiseLike<unknown>,
  ctx: CallContext,
  info: BeforeRetryInfo,
  events: ClientEvents,
): Promise<boolean | HookError> {
  for (let i = index; i < hooks.length; i++) {
    try {
      const verdict = i === index ? await pending : await hooks[i]!(ctx, info);
      if (verdict === false) return cancelled(ctx, events);
    } catch (error) {
      return hookError('beforeRetry', i, hooks.length, ctx, error);
    }
  }
  return true;
}

function cancelled(ctx: CallContext, events: ClientEvents): false {
  if (events.hook.hasListeners)
    events.hook.emit({ ctx, hook: 'beforeRetry', change: 'retry_cancelled' });
  return false;
}

/**
 * Run the `beforeError` hooks on the error a call is about to reject with: the error to
 * reject with (the last replacement, or `error`), or a `HookError` when one threw or
 * returned something that is not an error.
 */
export async function runBeforeError(
  hooks: readonly BeforeErrorHook[],
  error: Error,
  ctx: CallContext | undefined,
): Promise<Error> {
  let current = error;
  for (let i = 0; i < hooks.length; i++) {
    let replacement: unknown;
    try {
      replacement = hooks[i]!(current);
      if (isThenable(replacement)) replacement = await replacement;
    } catch (thrown) {
      return hookError('beforeError', i, hooks.length, ctx, thrown);
    }
    if (replacement === undefined) continue;
    if (!(replacement instanceof Error)) {
      return hookError(
        'beforeError',
        i,
        hooks.length,
        ctx,
        new TypeError('a beforeError hook must return an Error or nothing'),
        'returned something that is not an Error',
      );
    }
    current = replacement;
  }
  return current;
}

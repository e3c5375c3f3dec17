import { onAbort } from './signals.js';

/**
 * Wait `ms`, or less if `signal` or `closing` aborts. Resolves `true` when the full time
 * passed, `false` on abort. One timer and at most two listeners, all removed on every path.
 */
export function sleep(
  ms: number,
  signal: AbortSignal | undefined,
  closing?: AbortSignal,
): Promise<boolean> {
  if (signal?.aborted || closing?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const stop = (completed: boolean) => {
      clearTimeout(timer);
      forgetSignal?.();
      forgetClosing?.();
      resolve(completed);
    };
    const timer = setTimeout(() => stop(true), ms);
    const forgetSignal = signal ? onAbort(signal, () => stop(false)) : undefined;
    const forgetClosing = closing ? onAbort(closing, () => stop(false)) : undefined;
  });
}

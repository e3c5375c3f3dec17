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
      signal?.removeEventListener('abort', onAbort);
      closing?.removeEventListener('abort', onAbort);
      resolve(completed);
    };
    const onAbort = () => stop(false);
    const timer = setTimeout(() => stop(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    closing?.addEventListener('abort', onAbort, { once: true });
  });
}

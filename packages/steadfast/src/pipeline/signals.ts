import { defaultMaxListeners, getMaxListeners, setMaxListeners } from 'node:events';

const raised = new WeakSet<AbortSignal>();

/**
 * Listen once for `abort` on a caller's signal; returns the function that stops listening.
 *
 * One signal is often shared by many calls (a shutdown signal, a request-scoped signal):
 * Node would print `MaxListenersExceededWarning` after 10 listeners. Like undici's `fetch`,
 * lift the limit once per signal, unless the owner set one of their own.
 */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  if (!raised.has(signal)) {
    raised.add(signal);
    if (ownerLeftDefaultLimit(signal)) setMaxListeners(0, signal);
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

/**
 * True when nobody changed the signal's listener limit. Node 20's `getMaxListeners` throws
 * for an AbortSignal whose limit was set to 0 (unlimited): that owner chose, so leave it.
 */
function ownerLeftDefaultLimit(signal: AbortSignal): boolean {
  try {
    return getMaxListeners(signal) === defaultMaxListeners;
  } catch {
    return false;
  }
}

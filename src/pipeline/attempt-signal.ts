type Listener = () => void;

/**
 * A minimal abort signal for one wire attempt. undici accepts any EventTarget-like signal;
 * this one costs a few field writes, where an `AbortController` + `AbortSignal` pair costs
 * microseconds per attempt (measured: ~5 % of client CPU on the success path).
 */
export class AttemptSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: Listener[] | undefined;

  addEventListener(_type: 'abort', listener: Listener): void {
    if (this.#listeners) this.#listeners.push(listener);
    else this.#listeners = [listener];
  }

  removeEventListener(_type: 'abort', listener: Listener): void {
    const listeners = this.#listeners;
    if (!listeners) return;
    const index = listeners.indexOf(listener);
    if (index >= 0) listeners.splice(index, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }
}

type Listener = () => void;

/**
 * A minimal abort signal for one wire attempt: the attempt timeout or the caller's abort,
 * for the transport (which aborts the request through undici's dispatch controller) and the
 * chaos strategy's injected latency. EventTarget-like, so code written for an `AbortSignal`
 * reads it the same way; it costs a few field writes, where an `AbortController` +
 * `AbortSignal` pair costs microseconds per attempt.
 */
export class AttemptSignal {
  aborted = false;
  reason: unknown = undefined;
  /** The first listener — the transport's, nearly always the only one — then any others. */
  #first: Listener | undefined;
  #more: Listener[] | undefined;

  addEventListener(_type: 'abort', listener: Listener): void {
    if (this.#first === undefined) this.#first = listener;
    else if (this.#more) this.#more.push(listener);
    else this.#more = [listener];
  }

  removeEventListener(_type: 'abort', listener: Listener): void {
    if (this.#first === listener) {
      this.#first = this.#more?.shift();
      return;
    }
    const more = this.#more;
    if (!more) return;
    const index = more.indexOf(listener);
    if (index >= 0) more.splice(index, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const first = this.#first;
    const more = this.#more;
    this.#first = undefined;
    this.#more = undefined;
    first?.();
    if (more) for (const listener of more) listener();
  }
}

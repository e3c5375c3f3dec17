/** A listener subscription; call `dispose()` to stop listening. */
export interface Disposable {
  dispose(): void;
}

/** Subscribe a listener to a typed event. Listeners run synchronously, in order. */
export type Event<T> = (listener: (value: T) => void) => Disposable;

/**
 * A typed, synchronous event (cockatiel style) instead of a string-keyed EventEmitter.
 * `emit` costs one array check when nobody listens, so strategies can emit freely on the
 * hot path. A throwing listener never breaks a call: its error is reported on `process`.
 */
export class EventEmitter<T> {
  #listeners: ((value: T) => void)[] = [];

  /** True when at least one listener is attached (lets callers skip building payloads). */
  get hasListeners(): boolean {
    return this.#listeners.length > 0;
  }

  readonly event: Event<T> = (listener) => {
    this.#listeners = [...this.#listeners, listener];
    return {
      dispose: () => {
        this.#listeners = this.#listeners.filter((l) => l !== listener);
      },
    };
  };

  emit(value: T): void {
    const listeners = this.#listeners;
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i]!(value);
      } catch (error) {
        process.emitWarning(
          `steadfast: an event listener threw: ${(error as Error)?.message ?? String(error)}`,
          'SteadfastListenerWarning',
        );
      }
    }
  }

  clear(): void {
    this.#listeners = [];
  }
}

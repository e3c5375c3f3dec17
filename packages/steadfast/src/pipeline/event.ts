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

/**
 * Runs around an operation an observer may need to wrap: `run` must be called (once) to
 * perform the operation, typically inside another async context (telemetry makes a span
 * active, or suppresses instrumentations, around it). The handler observes `R`, the
 * operation's result; what the handler itself resolves to is ignored.
 */
export type ScopeHandler<E, R> = (event: E, run: () => Promise<R>) => Promise<unknown>;

/**
 * A typed hook that lets one observer run an operation inside its own context, without
 * the operation's module knowing who that is (e.g. `src/auth` never imports OpenTelemetry;
 * telemetry registers a handler that makes its span active). At most one handler; without
 * one, `run` is `fn()`. A handler cannot break or change the operation: if it throws,
 * never calls `run`, or fails after it, the operation still runs once and its own result
 * (or error) is what the caller gets; the handler's error is reported on `process`.
 */
export class ScopeHook<E, R = void> {
  #handler: ScopeHandler<E, R> | undefined;

  /** True when a handler is registered (same name as on `EventEmitter`). */
  get hasListeners(): boolean {
    return this.#handler !== undefined;
  }

  /** Register the handler; throws when one is registered already. */
  register(handler: ScopeHandler<E, R>): Disposable {
    if (this.#handler !== undefined) throw new Error('steadfast: this scope hook has a handler');
    this.#handler = handler;
    return {
      dispose: () => {
        if (this.#handler === handler) this.#handler = undefined;
      },
    };
  }

  run(event: E, fn: () => Promise<R>): Promise<R> {
    const handler = this.#handler;
    return handler === undefined ? fn() : this.#guarded(handler, event, fn);
  }

  async #guarded(handler: ScopeHandler<E, R>, event: E, fn: () => Promise<R>): Promise<R> {
    let operation: Promise<R> | undefined;
    const once = () => {
      operation ??= fn();
      return operation;
    };
    try {
      await handler(event, once);
    } catch (error) {
      // Re-throwing the operation's own failure is expected; anything else is a bug.
      const own =
        operation !== undefined &&
        (await operation.then(
          () => false,
          (e) => e === error,
        ));
      if (!own) {
        process.emitWarning(
          `steadfast: a scope handler threw: ${(error as Error)?.message ?? String(error)}`,
          'SteadfastListenerWarning',
        );
      }
    }
    return operation ?? fn();
  }
}

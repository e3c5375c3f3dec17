import type { AttemptSignal } from './attempt-signal.js';
import type {
  CallContext,
  CallOverrides,
  RequestBody,
  RetryStopReason,
  TokenSelector,
  WireHeaders,
} from './types.js';

/**
 * One of several attempts of a call that are out at the same time (hedging): a view of the
 * call with what must be its own — the endpoint (`origin`), the headers (each attempt carries
 * its own token and trace headers), the signal (the call's signal or the attempt's
 * cancellation), the attempt signal and number, and the adapters' slots — while everything
 * else is the call's: `deadline`, the count of wire attempts, the retry stop reason, the
 * body, `context`, the token it needs.
 *
 * A fork's `slots` start as a copy of the call's (the call span is in there), so what an
 * inner layer keeps per attempt stays with its fork.
 */
export class ForkedCall implements CallContext {
  readonly origin: string;
  readonly headers: WireHeaders;
  readonly hedge: number;
  attemptSignal: AttemptSignal | undefined = undefined;
  attempt: number;
  readonly #parent: CallContext;
  #signal: AbortSignal | undefined;
  #url: URL | undefined;
  #slots: Map<symbol, unknown> | undefined;

  constructor(parent: CallContext, hedge: number, origin: string, signal: AbortSignal | undefined) {
    this.#parent = parent;
    this.hedge = hedge;
    this.origin = origin;
    this.headers = { ...parent.headers };
    this.#signal = signal;
    this.attempt = parent.attempt;
  }

  /** The caller's signal, or the attempt's own; aborted once the attempt is cancelled. */
  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  /**
   * End this attempt: whatever reads `signal` from now on — at the latest the attempt timeout,
   * before anything is sent — finds it aborted with `reason`, and an attempt on the wire is
   * aborted through its attempt signal with `wireReason`. (A layer that waits, listening to
   * the signal it read before, is woken only when that signal was the attempt's own.)
   */
  cancel(reason: Error, wireReason: Error): void {
    if (this.#signal?.aborted) return;
    this.#signal = AbortSignal.abort(reason);
    this.attemptSignal?.abort(wireReason);
  }

  get client(): string {
    return this.#parent.client;
  }
  get method(): string {
    return this.#parent.method;
  }
  get operation(): string {
    return this.#parent.operation;
  }
  get path(): string {
    return this.#parent.path;
  }
  get url(): URL {
    if (this.origin === this.#parent.origin) return this.#parent.url;
    this.#url ??= new URL(this.origin + this.#parent.path);
    return this.#url;
  }
  get urlHasUserinfo(): boolean | undefined {
    return this.origin === this.#parent.origin ? this.#parent.urlHasUserinfo : false;
  }
  get body(): RequestBody {
    return this.#parent.body;
  }
  get maxResponseBytes(): number {
    return this.#parent.maxResponseBytes;
  }
  get idempotent(): boolean {
    return this.#parent.idempotent;
  }
  get startedAt(): number {
    return this.#parent.startedAt;
  }
  get overrides(): CallOverrides | undefined {
    return this.#parent.overrides;
  }
  get context(): Readonly<Record<string, unknown>> {
    return this.#parent.context;
  }
  get token(): TokenSelector | undefined {
    return this.#parent.token;
  }
  get deadline(): number {
    return this.#parent.deadline;
  }
  set deadline(value: number) {
    this.#parent.deadline = value;
  }
  get attempts(): number {
    return this.#parent.attempts;
  }
  set attempts(value: number) {
    this.#parent.attempts = value;
  }
  get retryStopReason(): RetryStopReason | undefined {
    return this.#parent.retryStopReason;
  }
  set retryStopReason(value: RetryStopReason | undefined) {
    this.#parent.retryStopReason = value;
  }
  get slots(): Map<symbol, unknown> {
    this.#slots ??= new Map(this.#parent.slots);
    return this.#slots;
  }
  /** The call this attempt belongs to. */
  get parent(): CallContext {
    return this.#parent;
  }
}

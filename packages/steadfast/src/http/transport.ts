import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { presentingCertificateTo } from '../auth/client-certificate.js';
import type { ResolvedOptions } from '../config/options.js';
import {
  InvalidRequestError,
  NetworkError,
  NonReplayableBodyError,
  PoolExhaustedError,
  SteadfastError,
  safeUrl,
  TimeoutError,
} from '../errors.js';
import type { AttemptSignal } from '../pipeline/attempt-signal.js';
import { TimeoutQueue } from '../pipeline/timeout-queue.js';
import type { CallContext, Next, Outcome, Transport, WireBody } from '../pipeline/types.js';
import { errorCode } from './classify.js';
import { IncomingBody } from './incoming-body.js';

/** What the transport needs of the resolved options. */
export interface TransportSettings {
  readonly transport: ResolvedOptions['transport'];
  readonly bodyTimeoutMs: number;
  /** An `auth` with a client certificate: presented on connections to `authOrigins` only. */
  readonly auth?: ResolvedOptions['auth'];
  readonly authOrigins?: ResolvedOptions['authOrigins'];
}

/**
 * The wire: undici's `Dispatcher.dispatch` on a keep-alive pool per origin (an undici
 * `Agent` keeps one `Pool` per origin), with our own handler. Not global `fetch`, and not
 * undici's `request()` either: `request()` builds a Node `Readable` per response and needs an
 * `AbortSignal` to be cancellable, which together cost about a third of a request's client
 * CPU (bench/RESULTS.md, run 11). Failures become outcomes, never exceptions, and every
 * failure is a `SteadfastError` (`NetworkError` with undici's error as its `cause`).
 *
 * It knows every attempt it has on the wire, from dispatch until the response body is
 * finished, so that `close()` can end them all and nothing is left holding a socket.
 */
export class UndiciTransport implements Transport {
  readonly name = 'transport';
  readonly #dispatcher: Dispatcher;
  readonly #owned: boolean;
  readonly #connectionsPerOrigin: number;
  /** One shared idle timer for the bodies being read (`bodyTimeoutMs`). */
  readonly #bodyTimeouts: TimeoutQueue;
  /** Attempts dispatched whose response (body included) is not finished yet. */
  readonly #inflight = new Set<AttemptHandler>();
  /** Set by `close()`: attempts dispatched afterwards fail at once with its error. */
  #closedWith: ((ctx: CallContext) => Error) | undefined;

  constructor(settings: TransportSettings) {
    const transport = settings.transport;
    this.#owned = transport.dispatcher === undefined;
    this.#connectionsPerOrigin = transport.connectionsPerOrigin;
    this.#bodyTimeouts = new TimeoutQueue(settings.bodyTimeoutMs);
    // Certificate-bound tokens (RFC 8705 §3) need the certificate where the token goes.
    const certificate = settings.auth?.clientCertificate;
    const presenting =
      certificate && settings.authOrigins?.size
        ? { factory: presentingCertificateTo(settings.authOrigins, certificate) }
        : {};
    this.#dispatcher =
      transport.dispatcher ??
      new Agent({
        connections: transport.connectionsPerOrigin,
        keepAliveTimeout: transport.keepAliveTimeoutMs,
        connect: { timeout: transport.connectTimeoutMs },
        ...presenting,
      });
  }

  /** Attempts on the wire now, response bodies still arriving included. */
  get inflight(): number {
    return this.#inflight.size;
  }

  execute(ctx: CallContext, _next?: Next): Promise<Outcome> {
    if (this.#closedWith) return Promise.resolve({ kind: 'error', error: this.#closedWith(ctx) });
    const body = ctx.body.forAttempt();
    if (body === undefined) {
      // A one-shot stream was already consumed by an earlier attempt: never send it half-empty.
      return Promise.resolve({
        kind: 'error',
        error: new NonReplayableBodyError(ctx.method, ctx.url),
      });
    }
    return new Promise<Outcome>((resolve) => {
      const handler = new AttemptHandler(this, resolve, ctx, body);
      try {
        this.#dispatcher.dispatch(
          {
            origin: ctx.origin,
            path: ctx.path,
            method: ctx.method as Dispatcher.HttpMethod,
            headers: ctx.headers,
            body,
          },
          handler,
        );
      } catch (error) {
        handler.fail(error as Error);
      }
    });
  }

  /** @internal The handler's bookkeeping: on the wire from dispatch to the body's end. */
  track(handler: AttemptHandler): void {
    this.#inflight.add(handler);
  }

  /** @internal */
  untrack(handler: AttemptHandler): void {
    this.#inflight.delete(handler);
  }

  /** @internal */
  get bodyTimeouts(): TimeoutQueue {
    return this.#bodyTimeouts;
  }

  /**
   * True when every connection of the origin's pool is open and busy, so a request that
   * has not started yet was waiting for one of them (not for a slow connect). Known only for
   * the transport's own `Agent`, whose pool size it set.
   */
  poolExhausted(origin: string): boolean {
    if (!this.#owned) return false;
    const stats = (this.#dispatcher as Agent).stats[origin] as
      | { connected: number; free: number }
      | undefined;
    return stats !== undefined && stats.free === 0 && stats.connected >= this.#connectionsPerOrigin;
  }

  /** The pool size of the transport's own `Agent` (for error messages). */
  get connectionsPerOrigin(): number {
    return this.#connectionsPerOrigin;
  }

  /**
   * End every attempt still on the wire with `reasonFor(its call)` (the caller sees it; a
   * body being read rejects with it) and close the connections: the transport's own pools
   * are destroyed, every socket with them. A dispatcher passed in by the user is left open:
   * it is theirs.
   */
  async close(reasonFor: (ctx: CallContext) => Error): Promise<void> {
    this.#closedWith ??= reasonFor;
    for (const handler of [...this.#inflight]) handler.destroy(reasonFor);
    this.#inflight.clear();
    if (this.#owned) await this.#dispatcher.destroy();
  }
}

/**
 * One wire attempt as an undici dispatch handler: resolves the outcome when the response
 * headers arrive (or the attempt fails), then feeds the body. The attempt signal (attempt
 * timeout or caller abort) cancels it at any point before the headers — also while the
 * request still waits in the pool for a connection, where undici cannot abort it yet.
 */
class AttemptHandler implements Dispatcher.DispatchHandler {
  readonly #transport: UndiciTransport;
  readonly #resolve: (outcome: Outcome) => void;
  readonly #ctx: CallContext;
  readonly #signal: AttemptSignal | undefined;
  readonly #requestBody: WireBody;
  #controller: Dispatcher.DispatchController | undefined;
  #body: IncomingBody | undefined;
  /** The outcome was handed out; later wire events only feed (or fail) the body. */
  #settled = false;
  /** Set when the attempt was cancelled before its response. */
  #abortedWith: Error | undefined;
  readonly #onAbort: (() => void) | undefined;

  constructor(
    transport: UndiciTransport,
    resolve: (outcome: Outcome) => void,
    ctx: CallContext,
    requestBody: WireBody,
  ) {
    this.#transport = transport;
    this.#resolve = resolve;
    this.#ctx = ctx;
    this.#requestBody = requestBody;
    const signal = ctx.attemptSignal;
    this.#signal = signal;
    transport.track(this);
    if (signal) {
      this.#onAbort = () => this.#abort(signal.reason);
      if (signal.aborted) this.#abort(signal.reason);
      else signal.addEventListener('abort', this.#onAbort);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Cancelled while queued for a connection: the outcome is out already; stop the request.
    if (this.#abortedWith) controller.abort(this.#abortedWith);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (statusCode < 200) return; // 1xx informational: the real response follows
    if (this.#settled) return;
    this.#forgetSignal();
    this.#settled = true;
    const contentType = headers['content-type'];
    const contentLength = headers['content-length'];
    this.#body = new IncomingBody(
      controller,
      Array.isArray(contentType) ? contentType[0] : contentType,
      this.#ctx,
      this.#transport.bodyTimeouts,
      typeof contentLength === 'string' ? Number(contentLength) : Number.NaN,
    );
    this.#resolve({
      kind: 'response',
      response: { status: statusCode, statusText: statusMessage ?? '', headers, body: this.#body },
    });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#body?.push(chunk);
  }

  onResponseEnd(): void {
    this.#transport.untrack(this);
    this.#body?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#transport.untrack(this);
    if (this.#body) this.#body.fail(error);
    else this.fail(error);
    // A request body stream that was not fully sent is of no use any more.
    const requestBody = this.#requestBody as Readable | null;
    if (requestBody !== null && typeof requestBody === 'object' && 'destroy' in requestBody) {
      if (!requestBody.destroyed) requestBody.destroy(error);
    }
  }

  /** The attempt failed before any response: its outcome is the error, as a `SteadfastError`. */
  fail(error: Error): void {
    this.#forgetSignal();
    this.#transport.untrack(this);
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve({ kind: 'error', error: this.#typed(error) });
  }

  /** `close()`: end the attempt, or the body it is still receiving. */
  destroy(reasonFor: (ctx: CallContext) => Error): void {
    const reason = reasonFor(this.#ctx);
    if (this.#body) this.#body.destroy(reason);
    else this.#abort(reason);
  }

  #abort(reason: unknown): void {
    if (this.#settled) return;
    let error = reason instanceof Error ? reason : new Error('attempt aborted', { cause: reason });
    const ctx = this.#ctx;
    // Timed out before undici handed the request to a connection: it waited in the pool.
    if (
      this.#controller === undefined &&
      error instanceof TimeoutError &&
      error.kind === 'attempt' &&
      this.#transport.poolExhausted(ctx.origin)
    ) {
      error = new PoolExhaustedError(
        ctx.method,
        ctx.url,
        error.timeoutMs,
        ctx.origin,
        this.#transport.connectionsPerOrigin,
      );
    }
    this.#abortedWith = error;
    this.fail(error);
    this.#controller?.abort(error);
  }

  #typed(error: Error): Error {
    if (error instanceof SteadfastError) return error;
    const ctx = this.#ctx;
    const code = errorCode(error);
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
      return new InvalidRequestError(
        `${ctx.method} ${safeUrl(ctx.url)}: the request cannot be sent as given (${code}; see the cause)`,
        { cause: error },
      );
    }
    return new NetworkError(ctx.method, ctx.url, code, error);
  }

  #forgetSignal(): void {
    if (this.#onAbort) this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}

import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { ResolvedOptions } from '../config/options.js';
import { NonReplayableBodyError } from '../errors.js';
import type { AttemptSignal } from '../pipeline/attempt-signal.js';
import type { CallContext, Next, Outcome, Strategy } from '../pipeline/types.js';
import type { WireBody } from './body.js';
import { IncomingBody } from './incoming-body.js';

const CLOSE_GRACE_MS = 1000; // 1 s for in-flight responses to finish on close()

/**
 * The wire: undici's `Dispatcher.dispatch` on a keep-alive pool per origin (an undici
 * `Agent` keeps one `Pool` per origin), with our own handler. Not global `fetch`, and not
 * undici's `request()` either: `request()` builds a Node `Readable` per response and needs an
 * `AbortSignal` to be cancellable, which together cost about a third of a request's client
 * CPU (bench/RESULTS.md, run 11). Failures become outcomes, never exceptions.
 */
export class UndiciTransport implements Strategy {
  readonly name = 'transport';
  readonly #dispatcher: Dispatcher;
  readonly #owned: boolean;

  constructor(settings: ResolvedOptions['transport']) {
    this.#owned = settings.dispatcher === undefined;
    this.#dispatcher =
      settings.dispatcher ??
      new Agent({
        connections: settings.connectionsPerOrigin,
        keepAliveTimeout: settings.keepAliveTimeoutMs,
        connect: { timeout: settings.connectTimeoutMs },
      });
  }

  execute(ctx: CallContext, _next?: Next): Promise<Outcome> {
    const body = ctx.body.forAttempt();
    if (body === undefined) {
      // A one-shot stream was already consumed by an earlier attempt: never send it half-empty.
      return Promise.resolve({
        kind: 'error',
        error: new NonReplayableBodyError(ctx.method, ctx.url),
      });
    }
    return new Promise<Outcome>((resolve) => {
      const handler = new AttemptHandler(resolve, ctx.attemptSignal, body);
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

  /**
   * Close the pools gracefully, but never wait on a response body nobody reads: after
   * `graceMs` the remaining sockets are destroyed.
   */
  async dispose(graceMs = CLOSE_GRACE_MS): Promise<void> {
    if (!this.#owned) return;
    let timer: NodeJS.Timeout | undefined;
    const graceful = this.#dispatcher.close().then(() => true);
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const closed = await Promise.race([graceful, late]);
    clearTimeout(timer);
    if (!closed) await this.#dispatcher.destroy();
  }
}

/**
 * One wire attempt as an undici dispatch handler: resolves the outcome when the response
 * headers arrive (or the attempt fails), then feeds the body. The attempt signal (attempt
 * timeout or caller abort) cancels it at any point before the headers — also while the
 * request still waits in the pool for a connection, where undici cannot abort it yet.
 */
class AttemptHandler implements Dispatcher.DispatchHandler {
  readonly #resolve: (outcome: Outcome) => void;
  readonly #signal: AttemptSignal | undefined;
  readonly #requestBody: WireBody;
  #controller: Dispatcher.DispatchController | undefined;
  #body: IncomingBody | undefined;
  /** The outcome was handed out; later wire events only feed (or fail) the body. */
  #settled = false;
  /** Set when the attempt signal cancelled the attempt before its response. */
  #abortedWith: Error | undefined;
  readonly #onAbort: (() => void) | undefined;

  constructor(
    resolve: (outcome: Outcome) => void,
    signal: AttemptSignal | undefined,
    requestBody: WireBody,
  ) {
    this.#resolve = resolve;
    this.#signal = signal;
    this.#requestBody = requestBody;
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
    this.#body = new IncomingBody(
      controller,
      Array.isArray(contentType) ? contentType[0] : contentType,
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
    this.#body?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#body) this.#body.fail(error);
    else this.fail(error);
    // A request body stream that was not fully sent is of no use any more.
    const requestBody = this.#requestBody as Readable | null;
    if (requestBody !== null && typeof requestBody === 'object' && 'destroy' in requestBody) {
      if (!requestBody.destroyed) requestBody.destroy(error);
    }
  }

  /** The attempt failed before any response: its outcome is the error. */
  fail(error: Error): void {
    this.#forgetSignal();
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve({ kind: 'error', error });
  }

  #abort(reason: unknown): void {
    if (this.#settled) return;
    const error =
      reason instanceof Error ? reason : new Error('attempt aborted', { cause: reason });
    this.#abortedWith = error;
    this.fail(error);
    this.#controller?.abort(error);
  }

  #forgetSignal(): void {
    if (this.#onAbort) this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}

/**
 * A response body as it comes off the wire, fed by the transport's undici handler.
 *
 * It replaces undici's `BodyReadable` (a Node `Readable` per response): the common cases —
 * `text()`, `json()`, `arrayBuffer()` of a small body that has already arrived — take the
 * buffered chunks without a stream, a listener or an extra promise turn. Streaming stays
 * available (`stream()` for a web `ReadableStream`, `for await` for Node-style reading)
 * with the same flow control as a `Readable`: past 64 KiB buffered and not being read, the
 * socket is paused until the reader catches up.
 *
 * Limits: a body read whole may not exceed its call's `maxResponseBytes` (checked against
 * `content-length` up front, then as bytes arrive: nothing past the limit is buffered), and
 * while somebody waits for data, the server may not stay silent longer than the client's
 * `bodyTimeoutMs`. Past either, the read rejects with a typed error and the connection is
 * closed. Streaming reads have no byte limit (the reader decides what to keep).
 *
 * One consumer per body, as in fetch: a second read rejects with a `TypeError`.
 */

import { NetworkError, ResponseTooLargeError, SteadfastError, TimeoutError } from '../errors.js';
import type { TimeoutQueue } from '../pipeline/timeout-queue.js';
import type { ResponseBody } from '../pipeline/types.js';
import { errorCode } from './classify.js';

/** What the body needs from the wire: flow control and cancellation (undici's dispatch controller). */
export interface BodySource {
  pause(): void;
  resume(): void;
  abort(reason: Error): void;
}

/** The call a body belongs to: its limit, and what error messages name. */
export interface BodyOwner {
  readonly method: string;
  readonly url: URL;
  /** Largest body `text()`, `json()`, `arrayBuffer()`, `bytes()` and `blob()` may buffer. */
  readonly maxResponseBytes: number;
}

/** Buffered bytes past which an unread body pauses the socket (a `Readable`'s default). */
const HIGH_WATER_MARK = 64 * 1024;
/** `dump()` reads at most this much to keep the connection; past it, the connection is dropped. */
const DUMP_LIMIT = 128 * 1024;

/**
 * `idle`: nobody reads yet. `collect`: `text()`/`json()`/... want all of it. `stream`: a
 * reader pulls chunk by chunk. `dump`: thrown away.
 */
type Mode = 'idle' | 'collect' | 'stream' | 'dump';

class BodyDumpedError extends Error {
  constructor() {
    super('response body dumped: more than 128 KiB left unread');
    this.name = 'BodyDumpedError';
  }
}

export class IncomingBody implements ResponseBody {
  /** The response's `content-type` (the type of `blob()`). */
  readonly contentType: string;
  readonly #source: BodySource | undefined;
  readonly #owner: BodyOwner | undefined;
  readonly #idleTimeouts: TimeoutQueue | undefined;
  /** `content-length`, or NaN when absent. */
  readonly #contentLength: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #state: 'open' | 'ended' | 'failed' = 'open';
  #error: Error | undefined;
  #mode: Mode = 'idle';
  #paused = false;
  #dumped = 0;
  /** The one reader waiting for a chunk, the end or an error. */
  #wake: (() => void) | undefined;
  /** Called once the body is finished: read to the end, dumped, cancelled or failed. */
  #onFinished: (() => void)[] | undefined;
  #finished = false;

  constructor(
    source: BodySource | undefined,
    contentType: string | undefined,
    owner?: BodyOwner,
    idleTimeouts?: TimeoutQueue,
    contentLength = Number.NaN,
  ) {
    this.#source = source;
    this.contentType = contentType ?? '';
    this.#owner = owner;
    this.#idleTimeouts = idleTimeouts;
    this.#contentLength = contentLength;
  }

  /** A body that is already complete (e.g. a response made up by the chaos strategy). */
  static of(bytes: Uint8Array | string, contentType?: string): IncomingBody {
    const body = new IncomingBody(undefined, contentType);
    body.push(Buffer.from(bytes));
    body.end();
    return body;
  }

  // ── fed by the transport ────────────────────────────────────────────────────────

  /** A chunk arrived. */
  push(chunk: Buffer): void {
    if (this.#state !== 'open') return;
    if (this.#mode === 'dump') {
      this.#dumped += chunk.length;
      if (this.#dumped > DUMP_LIMIT) this.#source?.abort(new BodyDumpedError());
      return;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#mode === 'collect') {
      if (this.#tooLarge()) this.destroy(this.#tooLargeError());
    } else if (this.#buffered >= HIGH_WATER_MARK && !this.#paused) {
      this.#paused = true;
      this.#source?.pause();
    }
    this.#wakeReader();
  }

  /** The whole body arrived. */
  end(): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    if (this.#mode === 'dump') this.#finish();
    this.#wakeReader();
  }

  /** The wire failed mid-body (reset, body timeout, abort). */
  fail(error: Error): void {
    if (this.#state === 'failed') return;
    this.#state = 'failed';
    this.#error = error;
    this.#chunks = [];
    this.#buffered = 0;
    this.#finish();
    this.#wakeReader();
  }

  // ── read by the caller ──────────────────────────────────────────────────────────

  /** True once a consumer took the body. */
  get bodyUsed(): boolean {
    return this.#mode !== 'idle';
  }

  text(): Promise<string> {
    return this.#collect(decodeUtf8);
  }

  json(): Promise<unknown> {
    return this.#collect((bytes) => JSON.parse(decodeUtf8(bytes)) as unknown);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#collect(toArrayBuffer);
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#collect((bytes) => new Uint8Array(toArrayBuffer(bytes)));
  }

  blob(): Promise<Blob> {
    return this.#collect((bytes) => new Blob([toArrayBuffer(bytes)], { type: this.contentType }));
  }

  /** The body as a web `ReadableStream` (what `Response.body` is). */
  stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#take('stream');
    return new ReadableStream<Uint8Array<ArrayBuffer>>(
      {
        pull: async (controller) => {
          const chunk = await this.#read();
          if (chunk === null) controller.close();
          else
            controller.enqueue(
              new Uint8Array(chunk.buffer as ArrayBuffer, chunk.byteOffset, chunk.length),
            );
        },
        cancel: (reason) => this.#cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }

  /** Node-style reading: `for await (const chunk of body)`; `Readable.from(body)` works too. */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    this.#take('stream');
    try {
      for (;;) {
        const chunk = await this.#read();
        if (chunk === null) return;
        yield chunk;
      }
    } finally {
      // The loop stopped early (break, throw): nobody will read the rest.
      if (!this.#finished) this.#cancel(undefined);
    }
  }

  /**
   * Throw the body away so the connection can be reused: up to 128 KiB more is read and
   * dropped; a longer body closes the connection instead. Never rejects.
   */
  dump(): Promise<void> {
    if (this.#mode !== 'dump') {
      this.#mode = 'dump';
      this.#dumped += this.#buffered;
      this.#chunks = [];
      this.#buffered = 0;
      if (this.#state !== 'open') this.#finish();
      else if (this.#dumped > DUMP_LIMIT) this.#source?.abort(new BodyDumpedError());
      else this.#resumeSource();
    }
    if (this.#finished) return Promise.resolve();
    return new Promise((resolve) => this.onFinished(resolve));
  }

  /** Stop receiving: the request is aborted and every read rejects with `error`. */
  destroy(error: Error): void {
    if (this.#state === 'open') this.#source?.abort(error);
    this.fail(error);
  }

  /** Run `callback` once the body is finished (read to the end, dumped, failed or destroyed). */
  onFinished(callback: () => void): void {
    if (this.#finished) callback();
    else if (this.#onFinished) this.#onFinished.push(callback);
    else this.#onFinished = [callback];
  }

  // ── internals ───────────────────────────────────────────────────────────────────

  #take(mode: 'collect' | 'stream'): void {
    if (this.#mode !== 'idle') throw new TypeError('Body is unusable: Body has already been read');
    this.#mode = mode;
    this.#resumeSource();
  }

  /** Everything at once. Already arrived (the usual case for small bodies): no waiting. */
  #collect<T>(convert: (bytes: Buffer) => T): Promise<T> {
    try {
      this.#take('collect');
    } catch (error) {
      return Promise.reject(error);
    }
    const limit = this.#owner?.maxResponseBytes ?? Number.POSITIVE_INFINITY;
    if (this.#state !== 'failed' && (this.#buffered > limit || this.#contentLength > limit)) {
      this.destroy(this.#tooLargeError());
      return Promise.reject(this.#error);
    }
    if (this.#state === 'open') return this.#whenComplete().then(() => this.#takeAll(convert));
    try {
      return Promise.resolve(this.#takeAll(convert));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #whenComplete(): Promise<void> {
    while (this.#state === 'open') await this.#waitForData();
  }

  /**
   * Wait for the next chunk, the end or a failure. With a body timeout, at most that long:
   * then the body fails with a `TimeoutError` of kind `body` (the idle timers of a client's
   * bodies share one timer).
   */
  #waitForData(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timeouts = this.#idleTimeouts;
      if (timeouts === undefined || this.#owner === undefined) {
        this.#wake = resolve;
        return;
      }
      const owner = this.#owner;
      const pending = timeouts.add(() =>
        this.destroy(new TimeoutError(owner.method, owner.url, 'body', timeouts.durationMs)),
      );
      this.#wake = () => {
        timeouts.cancel(pending);
        resolve();
      };
    });
  }

  #tooLarge(): boolean {
    return this.#owner !== undefined && this.#buffered > this.#owner.maxResponseBytes;
  }

  #tooLargeError(): Error {
    const owner = this.#owner!;
    return new ResponseTooLargeError(owner.method, owner.url, owner.maxResponseBytes);
  }

  /**
   * The failure as readers see it: a `SteadfastError`. A wire error (reset mid-body, socket
   * closed) becomes a `NetworkError` with the original as its `cause`.
   */
  #failure(): Error {
    const error = this.#error!;
    if (error instanceof SteadfastError || this.#owner === undefined) return error;
    const typed = new NetworkError(this.#owner.method, this.#owner.url, errorCode(error), error);
    this.#error = typed;
    return typed;
  }

  #takeAll<T>(convert: (bytes: Buffer) => T): T {
    if (this.#state === 'failed') throw this.#failure();
    const chunks = this.#chunks;
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#buffered);
    this.#chunks = [];
    this.#buffered = 0;
    this.#finish();
    return convert(bytes);
  }

  /** The next chunk, or `null` at the end. */
  async #read(): Promise<Buffer | null> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        this.#buffered -= chunk.length;
        if (this.#paused && this.#buffered < HIGH_WATER_MARK) this.#resumeSource();
        return chunk;
      }
      if (this.#state === 'failed') throw this.#failure();
      if (this.#state === 'ended') {
        this.#finish();
        return null;
      }
      this.#resumeSource();
      await this.#waitForData();
    }
  }

  #cancel(reason: unknown): void {
    const error =
      reason instanceof Error ? reason : new Error('response body cancelled', { cause: reason });
    this.destroy(error);
  }

  #resumeSource(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#source?.resume();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    if (wake === undefined) return;
    this.#wake = undefined;
    wake();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const callbacks = this.#onFinished;
    this.#onFinished = undefined;
    if (callbacks) for (const callback of callbacks) callback();
  }
}

/** UTF-8 with a leading byte-order mark dropped, as `Response.text()` does. */
function decodeUtf8(bytes: Buffer): string {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
    return bytes.toString('utf8', 3);
  return bytes.toString('utf8');
}

/** A copy in an `ArrayBuffer` of its own (undici's chunks share the socket's buffer). */
function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
}

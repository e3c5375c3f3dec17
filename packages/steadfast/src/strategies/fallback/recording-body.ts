import type { ResponseBody } from '../../pipeline/types.js';

/**
 * What a recording learnt once the caller read the body to its end: the bytes (a copy of
 * their own), or `undefined` when there were more than the bound. `json` is true when the
 * caller's `json()` parsed them.
 */
export type RecordedBody = (bytes: Uint8Array | undefined, json: boolean) => void;

/**
 * A response body that copies what the caller reads, for serve-stale, while handing it on
 * unchanged: the same bytes, when the caller asks for them, with the wire body's limits,
 * timeouts and flow control (each read is the wire body's own). Nothing is read ahead, and at
 * most `limitBytes` are copied: past that, copying stops and what was copied is let go.
 * `done` runs only when the caller read the whole body; a body dumped, destroyed, cut off or
 * failed, or a `json()` that did not parse, is never reported.
 */
export class RecordingBody implements ResponseBody {
  readonly #inner: ResponseBody;
  readonly #limitBytes: number;
  readonly #done: RecordedBody;
  /**
   * `recording`: copying; `overflow`: past the bound, still counting (a body read to its end
   * that was too large is reported as such); `off`: nothing more to report.
   */
  #state: 'recording' | 'overflow' | 'off' = 'recording';
  /** Chunks copied so far by a streaming reader. */
  #chunks: Buffer[] = [];
  #copied = 0;

  constructor(inner: ResponseBody, limitBytes: number, done: RecordedBody) {
    this.#inner = inner;
    this.#limitBytes = limitBytes;
    this.#done = done;
  }

  get contentType(): string {
    return this.#inner.contentType;
  }

  get bodyUsed(): boolean {
    return this.#inner.bodyUsed;
  }

  // Whole reads take the bytes once, as an `ArrayBuffer` of their own (the wire body's
  // limit and body timeout apply), and convert them as the wire body would.

  text(): Promise<string> {
    return this.#whole((bytes) => {
      this.#keep(bytes, false, false);
      return decodeUtf8(bytes);
    });
  }

  json(): Promise<unknown> {
    return this.#whole((bytes) => {
      const value: unknown = JSON.parse(decodeUtf8(bytes)); // a body that does not parse is not kept
      this.#keep(bytes, false, true);
      return value;
    });
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#whole((bytes) => {
      this.#keep(bytes, true, false); // the caller may write to what it gets
      return bytes.buffer as ArrayBuffer;
    });
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#whole((bytes) => {
      this.#keep(bytes, true, false);
      return bytes as Uint8Array<ArrayBuffer>;
    });
  }

  blob(): Promise<Blob> {
    return this.#whole((bytes) => {
      this.#keep(bytes, false, false); // a Blob copies what it is made of
      return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: this.contentType });
    });
  }

  stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const reader = this.#inner.stream().getReader();
    return new ReadableStream<Uint8Array<ArrayBuffer>>(
      {
        pull: async (controller) => {
          let next: Awaited<ReturnType<typeof reader.read>>;
          try {
            next = await reader.read();
          } catch (error) {
            this.#stop();
            throw error;
          }
          if (next.done) {
            this.#finish();
            controller.close();
          } else {
            this.#copy(next.value);
            controller.enqueue(next.value);
          }
        },
        cancel: (reason) => {
          this.#stop();
          return reader.cancel(reason);
        },
      },
      // Pull only when the caller reads, as the wire body's own stream does.
      { highWaterMark: 0 },
    );
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    try {
      for await (const chunk of this.#inner) {
        this.#copy(chunk);
        yield chunk;
      }
    } catch (error) {
      this.#stop();
      throw error;
    }
    // Reached only when the loop ran to the end: a caller that stopped early (break) returns
    // from the `yield` above, and the wire body's iterator cancels the rest.
    this.#finish();
  }

  dump(): Promise<void> {
    this.#stop();
    return this.#inner.dump();
  }

  destroy(error: Error): void {
    this.#stop();
    this.#inner.destroy(error);
  }

  onFinished(callback: () => void): void {
    this.#inner.onFinished(callback);
  }

  #whole<T>(convert: (bytes: Uint8Array) => T): Promise<T> {
    this.#stop(); // nothing is copied chunk by chunk
    return this.#inner.arrayBuffer().then((buffer) => convert(new Uint8Array(buffer)));
  }

  /** The whole body, read by `text()` & co.: report it (a copy when the caller gets `bytes`). */
  #keep(bytes: Uint8Array, copy: boolean, json: boolean): void {
    if (bytes.length > this.#limitBytes) this.#done(undefined, false);
    else this.#done(copy ? bytes.slice() : bytes, json);
  }

  /** A chunk handed to a streaming reader: copied while within the bound. */
  #copy(chunk: Uint8Array): void {
    if (this.#state === 'off') return;
    this.#copied += chunk.length;
    if (this.#state === 'overflow') return;
    if (this.#copied > this.#limitBytes) {
      this.#state = 'overflow';
      this.#chunks = [];
    } else {
      this.#chunks.push(Buffer.from(chunk)); // a copy: the caller may write to what it reads
    }
  }

  /** A streaming reader reached the end. */
  #finish(): void {
    const state = this.#state;
    const chunks = this.#chunks;
    this.#stop();
    if (state === 'recording') this.#done(Buffer.concat(chunks, this.#copied), false);
    else if (state === 'overflow') this.#done(undefined, false);
  }

  /** Nothing more to report: what was copied is let go. */
  #stop(): void {
    this.#state = 'off';
    this.#chunks = [];
  }
}

/** UTF-8 with a leading byte-order mark dropped, as `Response.text()` (and the wire body) do. */
function decodeUtf8(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buffer.length >= 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf)
    return buffer.toString('utf8', 3);
  return buffer.toString('utf8');
}

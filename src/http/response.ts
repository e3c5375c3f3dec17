import { Readable } from 'node:stream';
import type { WireResponse } from '../pipeline/types.js';

/** Statuses whose responses never carry a body (the `Response` constructor rejects one). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** Wire headers (undici's object form) as a standard `Headers`. */
export function toHeaders(raw: WireResponse['headers']): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      for (const v of value) headers.append(name, v);
    } else {
      headers.append(name, value);
    }
  }
  return headers;
}

/** undici's body: a Node stream with the fetch-style consumers. */
type WireBody = WireResponse['body'] & {
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
  blob(): Promise<Blob>;
  bytes?(): Promise<Uint8Array>;
};

/**
 * A standard `Response` (a real subclass: `instanceof Response` holds) whose body and
 * headers are built only when asked for. `text()`, `json()`, `arrayBuffer()` and `blob()`
 * read undici's stream directly; `body` turns it into a web `ReadableStream` on first
 * access. On Node 20 a web stream costs ~10 µs per response, most of a request's budget.
 */
class WireBackedResponse extends Response {
  readonly #wire: WireResponse;
  readonly #url: string;
  readonly #hasBody: boolean;
  #headers: Headers | undefined;
  #stream: ReadableStream<Uint8Array<ArrayBuffer>> | null | undefined;
  #consumed = false;

  constructor(wire: WireResponse, status: number, url: string, hasBody: boolean) {
    super(null, { status, statusText: wire.statusText ?? '' });
    this.#wire = wire;
    this.#url = url;
    this.#hasBody = hasBody;
  }

  override get url(): string {
    return this.#url;
  }

  override get headers(): Headers {
    this.#headers ??= toHeaders(this.#wire.headers);
    return this.#headers;
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (this.#stream === undefined) {
      this.#stream = this.#hasBody
        ? (Readable.toWeb(this.#wire.body) as ReadableStream<Uint8Array<ArrayBuffer>>)
        : null;
    }
    return this.#stream;
  }

  override get bodyUsed(): boolean {
    return this.#consumed || (this.#stream?.locked ?? false);
  }

  override text(): Promise<string> {
    return this.#read(
      (b) => b.text(),
      (r) => r.text(),
      '',
    );
  }

  override json(): Promise<unknown> {
    return this.#read(
      (b) => b.json(),
      (r) => r.json(),
      undefined,
      true,
    );
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    return this.#read(
      (b) => b.arrayBuffer(),
      (r) => r.arrayBuffer(),
      new ArrayBuffer(0),
    );
  }

  override blob(): Promise<Blob> {
    return this.#read(
      (b) => b.blob(),
      (r) => r.blob(),
      new Blob([]),
    );
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#read(
      async (b) => new Uint8Array(await b.arrayBuffer()),
      (r) => r.bytes(),
      new Uint8Array(0),
    );
  }

  override formData(): Promise<FormData> {
    return this.#viaStream().formData();
  }

  override clone(): Response {
    if (this.bodyUsed) throw new TypeError('Response.clone: body has already been consumed.');
    const stream = this.body;
    let copy: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
    if (stream) {
      const [mine, theirs] = stream.tee();
      this.#stream = mine;
      copy = theirs;
    }
    return new WireBackedClone(copy, this.status, this.statusText, this.headers, this.#url);
  }

  /** Read the body once: straight from undici's stream unless `body` was already exposed. */
  #read<T>(
    direct: (body: WireBody) => Promise<T>,
    viaStream: (response: Response) => Promise<T>,
    empty: T,
    emptyIsError = false,
  ): Promise<T> {
    if (this.bodyUsed)
      return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    if (this.#stream !== undefined) return viaStream(this.#viaStream());
    this.#consumed = true;
    if (!this.#hasBody) {
      if (emptyIsError) return Promise.reject(new SyntaxError('Unexpected end of JSON input'));
      return Promise.resolve(empty);
    }
    return direct(this.#wire.body as WireBody);
  }

  #viaStream(): Response {
    return new Response(this.body, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
  }
}

/** What `clone()` returns: a plain Response over the tee'd stream, keeping `url`. */
class WireBackedClone extends Response {
  readonly #url: string;
  constructor(
    body: ReadableStream<Uint8Array<ArrayBuffer>> | null,
    status: number,
    statusText: string,
    headers: Headers,
    url: string,
  ) {
    super(body, { status, statusText, headers });
    this.#url = url;
  }
  override get url(): string {
    return this.#url;
  }
}

/** Turn the wire response into a standard `Response`, streaming the body (no buffering). */
export function toResponse(wire: WireResponse, method: string, url: URL): Response {
  const hasBody = !(NULL_BODY_STATUS.has(wire.status) || method === 'HEAD');
  if (!hasBody) wire.body.resume();
  // Statuses outside 200–599 (e.g. 1xx) cannot be represented by `Response`.
  const status = wire.status >= 200 && wire.status <= 599 ? wire.status : 502;
  return new WireBackedResponse(wire, status, url.href, hasBody);
}

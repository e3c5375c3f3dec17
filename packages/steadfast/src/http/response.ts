import { Readable } from 'node:stream';
import type { CallContext, ResponseBody, WireResponse } from '../pipeline/types.js';

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

/**
 * The `Response` that `client.fetch()` returns. Its body and headers are built only when
 * asked for: `text()`, `json()`, `arrayBuffer()`, `bytes()` and `blob()` take the bytes
 * straight from the transport's `IncomingBody`; `body` becomes a web `ReadableStream` on
 * first access (on Node 20 a web stream costs ~10 µs per response, most of a request's budget).
 *
 * It is a `Response` by prototype and by every public member, not by Node's internal state:
 * `extends Response` would run the platform constructor, which builds a state record, a
 * header list, a `Headers` and a realm that this class never reads — about 1 µs plus its
 * garbage per call (bench/RESULTS.md, run 11). So the class implements every member of
 * `Response` itself (`implements Response` makes TypeScript check none is missing) and is
 * linked to `Response.prototype` below: `instanceof Response` holds and
 * `Object.prototype.toString` says "[object Response]". What does not work is calling the
 * platform's methods on it directly (`Response.prototype.text.call(res)`), which nobody does.
 * test/steadfast/http/response-contract.test.ts compares it with what global `fetch` returns.
 */
class WireBackedResponse implements Response {
  readonly #status: number;
  readonly #statusText: string;
  readonly #wire: WireResponse;
  /** The call, whose URL is built only if someone reads `url`. */
  readonly #call: Pick<CallContext, 'url'>;
  readonly #hasBody: boolean;
  #headers: Headers | undefined;
  #stream: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  /** `text()`, `json()`, ... took the bytes without a stream. */
  #directlyRead = false;

  constructor(
    wire: WireResponse,
    status: number,
    call: Pick<CallContext, 'url'>,
    hasBody: boolean,
  ) {
    this.#status = status;
    this.#statusText = wire.statusText ?? '';
    this.#wire = wire;
    this.#call = call;
    this.#hasBody = hasBody;
  }

  // Accessors, as on the platform's prototype: the object has no own enumerable properties.
  get status(): number {
    return this.#status;
  }

  get statusText(): string {
    return this.#statusText;
  }

  get type(): Response['type'] {
    return 'basic';
  }

  get redirected(): boolean {
    return false;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  get url(): string {
    return this.#call.url.href;
  }

  get headers(): Headers {
    this.#headers ??= toHeaders(this.#wire.headers);
    return this.#headers;
  }

  get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (!this.#hasBody) return null;
    this.#stream ??= this.#directlyRead ? drainedStream() : this.#wire.body.stream();
    return this.#stream;
  }

  get bodyUsed(): boolean {
    if (!this.#hasBody) return false;
    if (this.#directlyRead) return true;
    const stream = this.#stream;
    return stream !== undefined && (stream.locked || Readable.isDisturbed(stream as never));
  }

  text(): Promise<string> {
    return this.#read(
      (b) => b.text(),
      (r) => r.text(),
      '',
    );
  }

  json(): Promise<unknown> {
    return this.#read(
      (b) => b.json(),
      (r) => r.json(),
      undefined,
      true,
    );
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#read(
      (b) => b.arrayBuffer(),
      (r) => r.arrayBuffer(),
      new ArrayBuffer(0),
    );
  }

  blob(): Promise<Blob> {
    return this.#read(
      (b) => b.blob(),
      (r) => r.blob(),
      new Blob([]),
    );
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#read(
      (b) => b.bytes(),
      // `Response.bytes()` is missing from Node 20's fetch types (and from older runtimes).
      (r) => r.arrayBuffer().then((buffer) => new Uint8Array(buffer)),
      new Uint8Array(0),
    );
  }

  formData(): Promise<FormData> {
    if (this.bodyUsed)
      return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    return this.#viaStream().formData();
  }

  clone(): Response {
    if (this.bodyUsed) throw new TypeError('Response.clone: body has already been consumed.');
    const stream = this.body;
    let copy: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
    if (stream) {
      const [mine, theirs] = stream.tee();
      this.#stream = mine;
      copy = theirs;
    }
    return new WireBackedClone(copy, this.status, this.statusText, this.headers, this.url);
  }

  /** What `console.log(response)` shows, as for a platform `Response`. */
  [Symbol.for('nodejs.util.inspect.custom')](
    _depth: number,
    options: object,
    inspect: (value: unknown, options: object) => string,
  ): string {
    const shown = {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
      body: this.#stream ?? (this.#hasBody ? '(not read yet)' : null),
      bodyUsed: this.bodyUsed,
      ok: this.ok,
      redirected: this.redirected,
      type: this.type,
      url: this.url,
    };
    return `Response ${inspect(shown, options)}`;
  }

  /** Read the body once: straight from the wire body unless `body` was already exposed. */
  #read<T>(
    direct: (body: ResponseBody) => Promise<T>,
    viaStream: (response: Response) => Promise<T>,
    empty: T,
    emptyIsError = false,
  ): Promise<T> {
    if (!this.#hasBody) {
      if (emptyIsError) return Promise.reject(new SyntaxError('Unexpected end of JSON input'));
      return Promise.resolve(empty);
    }
    if (this.bodyUsed)
      return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    if (this.#stream) return viaStream(this.#viaStream());
    this.#directlyRead = true;
    return direct(this.#wire.body);
  }

  #viaStream(): Response {
    return new Response(this.body, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
  }
}
Object.setPrototypeOf(WireBackedResponse.prototype, Response.prototype);

/** What `body` is after `text()` & co. took the bytes: an empty stream that is already closed. */
function drainedStream(): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

/** What `clone()` returns: a plain Response over the tee'd stream, keeping `url`. */
class WireBackedClone extends Response {
  constructor(
    body: ReadableStream<Uint8Array<ArrayBuffer>> | null,
    status: number,
    statusText: string,
    headers: Headers,
    url: string,
  ) {
    super(body, { status, statusText, headers });
    // `url` is read-only on a constructed Response: shadow it with an own property (an
    // accessor override would not type-check against Node's class declaration of Response).
    Object.defineProperty(this, 'url', { value: url, enumerable: true });
  }
}

/** Turn the wire response into a standard `Response`, streaming the body (no buffering). */
export function toResponse(
  wire: WireResponse,
  call: Pick<CallContext, 'method' | 'url'>,
): Response {
  const hasBody = !(NULL_BODY_STATUS.has(wire.status) || call.method === 'HEAD');
  if (!hasBody) void wire.body.dump();
  // Statuses outside 200–599 (e.g. 1xx) cannot be represented by `Response`.
  const status = wire.status >= 200 && wire.status <= 599 ? wire.status : 502;
  return new WireBackedResponse(wire, status, call, hasBody) as Response;
}

import { Readable } from 'node:stream';
import type { RequestBody, WireBody } from '../pipeline/types.js';

/** A function that produces a fresh body for each attempt: always replayable. */
export type BodyFactory = () => string | Uint8Array | Readable | ReadableStream<Uint8Array>;

/** What `fetch(input, { body })` accepts, plus a body factory. */
export type BodyInput =
  | string
  | Uint8Array
  | ArrayBuffer
  | ArrayBufferView
  | URLSearchParams
  | FormData
  | Blob
  | ReadableStream<Uint8Array>
  | Readable
  | BodyFactory
  | null
  | undefined;

export type { RequestBody, WireBody } from '../pipeline/types.js';

const EMPTY: RequestBody = { replayable: true, contentType: undefined, forAttempt: () => null };

class StaticBody implements RequestBody {
  readonly replayable = true;
  constructor(
    private readonly value: string | Uint8Array,
    readonly contentType: string | undefined,
  ) {}
  forAttempt(): WireBody {
    return this.value;
  }
}

class FactoryBody implements RequestBody {
  readonly replayable = true;
  readonly contentType = undefined;
  constructor(private readonly factory: BodyFactory) {}
  forAttempt(): WireBody {
    const value = this.factory();
    return value instanceof ReadableStream ? Readable.fromWeb(value as never) : value;
  }
}

class OneShotBody implements RequestBody {
  readonly replayable = false;
  readonly contentType = undefined;
  #stream: Readable | undefined;
  constructor(stream: Readable) {
    this.#stream = stream;
  }
  forAttempt(): WireBody | undefined {
    const stream = this.#stream;
    this.#stream = undefined;
    return stream;
  }
}

/**
 * Normalise a fetch-style body once per call. Synchronous for every body except `FormData`
 * and `Blob`, which are read into memory here (async), so every attempt can send the same bytes.
 */
export function normalizeBody(body: BodyInput): RequestBody | Promise<RequestBody> {
  if (body === null || body === undefined) return EMPTY;
  if (typeof body === 'string') return new StaticBody(body, 'text/plain;charset=UTF-8');
  if (body instanceof Uint8Array) return new StaticBody(body, undefined);
  if (body instanceof ArrayBuffer) return new StaticBody(new Uint8Array(body), undefined);
  if (ArrayBuffer.isView(body)) {
    return new StaticBody(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), undefined);
  }
  if (body instanceof URLSearchParams) {
    return new StaticBody(body.toString(), 'application/x-www-form-urlencoded;charset=UTF-8');
  }
  if (body instanceof FormData) return encodeFormData(body);
  if (body instanceof Blob) return readBlob(body);
  if (typeof body === 'function') return new FactoryBody(body);
  if (body instanceof ReadableStream) return new OneShotBody(Readable.fromWeb(body as never));
  if (body instanceof Readable) return new OneShotBody(body);
  throw new TypeError(`Unsupported request body type: ${Object.prototype.toString.call(body)}`);
}

/**
 * Encode once with the platform's multipart encoder; every attempt sends the same bytes with
 * the same boundary (undici's dispatcher cannot take Node's global FormData).
 */
async function encodeFormData(form: FormData): Promise<RequestBody> {
  const encoded = new Response(form);
  return new StaticBody(
    new Uint8Array(await encoded.arrayBuffer()),
    encoded.headers.get('content-type') ?? undefined,
  );
}

async function readBlob(blob: Blob): Promise<RequestBody> {
  return new StaticBody(new Uint8Array(await blob.arrayBuffer()), blob.type || undefined);
}

/** A body that is known to be empty (GET without body). Avoids an async hop. */
export const emptyBody: RequestBody = EMPTY;

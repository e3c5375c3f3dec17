import { type BodySource, IncomingBody } from '../../http/incoming-body.js';
import type { CallContext, WireResponse } from '../../pipeline/types.js';
import type { StaleEntry } from './stale-cache.js';

/**
 * The responses a fallback answers with, as wire responses: a stale entry, a handler's
 * `Response`, a handler's value as JSON. Each is marked with `x-steadfast-fallback`, and its
 * body is an `IncomingBody` owned by the call, so `text()` & co. are bounded by the call's
 * `maxResponseBytes` as a body off the wire is.
 */

/** The response header that marks a fallback's answer: `stale` or `handler`. */
export const FALLBACK_HEADER = 'x-steadfast-fallback';

/** A stale entry as a response of its own: a copy of its body, its age in `age` (seconds). */
export function staleResponse(ctx: CallContext, entry: StaleEntry, ageMs: number): WireResponse {
  const headers: Record<string, string | string[]> = { ...entry.headers };
  // A shared cache upstream may have given it an age already (RFC 9111 §4.2.3).
  const upstreamAge = Number.parseInt(String(entry.headers.age ?? '0'), 10);
  headers.age = String((Number.isFinite(upstreamAge) ? upstreamAge : 0) + Math.floor(ageMs / 1000));
  headers[FALLBACK_HEADER] = 'stale';
  return {
    status: entry.status,
    ...(entry.statusText === undefined ? {} : { statusText: entry.statusText }),
    headers,
    body: completeBody(ctx, entry.body, contentTypeOf(entry.headers)),
  };
}

/** A handler's value (not a `Response`) as a JSON `200`; throws when JSON cannot represent it. */
export function jsonResponse(ctx: CallContext, value: unknown): WireResponse {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`JSON cannot represent a ${typeof value}`);
  const bytes = Buffer.from(text, 'utf8');
  return {
    status: 200,
    statusText: 'OK',
    headers: {
      'content-type': 'application/json',
      'content-length': String(bytes.length),
      [FALLBACK_HEADER]: 'handler',
    },
    body: completeBody(ctx, bytes, 'application/json'),
  };
}

/**
 * A handler's `Response` as a wire response: its status and headers, its body streamed from
 * it with flow control (read ahead up to 64 KiB, as off the wire). Throws a `TypeError` when
 * its body was already read.
 */
export function fromResponse(ctx: CallContext, response: Response): WireResponse {
  if (response.bodyUsed) throw new TypeError('the Response body was already read');
  // `Response.error()`: a network error, not an answer (its status is 0).
  if (response.type === 'error') throw new TypeError('the Response is a network error');
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  headers[FALLBACK_HEADER] = 'handler';
  const contentType = response.headers.get('content-type') ?? undefined;
  const stream = response.body;
  let body: IncomingBody;
  if (stream === null) {
    body = completeBody(ctx, new Uint8Array(0), contentType);
  } else {
    const source = new WebStreamSource(stream.getReader());
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    body = new IncomingBody(source, contentType, ctx, undefined, length);
    source.start(body);
  }
  return {
    status: response.status,
    statusText: response.statusText,
    headers,
    body,
  };
}

function contentTypeOf(headers: Readonly<Record<string, string | string[]>>): string | undefined {
  const value = headers['content-type'];
  return Array.isArray(value) ? value[0] : value;
}

/** A body that has arrived whole: a copy of `bytes`, so no reader can write to the original. */
function completeBody(
  ctx: CallContext,
  bytes: Uint8Array,
  contentType: string | undefined,
): IncomingBody {
  const body = new IncomingBody(undefined, contentType, ctx);
  if (bytes.length > 0) body.push(Buffer.from(bytes));
  body.end();
  return body;
}

/** Feeds an `IncomingBody` from a web stream, pausing when it asks (as a socket would). */
class WebStreamSource implements BodySource {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #body: IncomingBody | undefined;
  #paused = false;
  #pumping = false;
  #aborted = false;

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader;
  }

  start(body: IncomingBody): void {
    this.#body = body;
    void this.#pump();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    void this.#pump();
  }

  abort(reason: Error): void {
    this.#aborted = true;
    this.#reader.cancel(reason).catch(() => {});
  }

  async #pump(): Promise<void> {
    const body = this.#body;
    if (this.#pumping || body === undefined) return;
    this.#pumping = true;
    try {
      while (!this.#paused && !this.#aborted) {
        const next = await this.#reader.read();
        if (this.#aborted) return;
        if (next.done) {
          body.end();
          return;
        }
        const chunk = next.value;
        body.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      }
    } catch (error) {
      if (!this.#aborted) body.fail(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#pumping = false;
    }
  }
}

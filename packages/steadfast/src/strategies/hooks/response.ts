import { ResponseTooLargeError } from '../../errors.js';
import { IncomingBody } from '../../http/incoming-body.js';
import type { CallContext, WireResponse } from '../../pipeline/types.js';
import type { HookResponse, RetryableFailure } from './types.js';

const RETRYABLE_FAILURE = Object.freeze({}) as RetryableFailure;

/**
 * What an `afterResponse` hook returns to fail the attempt although a response arrived
 * (e.g. a 200 whose body says "busy"): the attempt becomes a `ResponseRejectedError`,
 * which the retry strategy treats as transient (its method, budget and deadline rules
 * still apply). When no retry follows, the call rejects with that error.
 *
 * @example
 * afterResponse: async (ctx, response) => {
 *   const body = (await response.json()) as { status?: string };
 *   if (body.status === 'busy') return retryableFailure();
 * }
 */
export function retryableFailure(): RetryableFailure {
  return RETRYABLE_FAILURE;
}

export function isRetryableFailure(value: unknown): value is RetryableFailure {
  return value === RETRYABLE_FAILURE;
}

const decoder = new TextDecoder();

/**
 * The response as one `afterResponse` hook sees it. The body is read only if the hook asks
 * (then whole, within the call's limits) and kept, so `passedOn()` can hand the caller a
 * body that reads the same bytes again.
 */
export class PeekableResponse implements HookResponse {
  readonly status: number;
  readonly statusText: string | undefined;
  readonly headers: WireResponse['headers'];
  readonly #wire: WireResponse;
  #bytes: Promise<Uint8Array> | undefined;
  /** Why reading the body failed, if it did: the attempt's failure, not the hook's. */
  readError: Error | undefined;

  constructor(wire: WireResponse) {
    this.#wire = wire;
    this.status = wire.status;
    this.statusText = wire.statusText;
    this.headers = wire.headers;
  }

  /** True once the hook started reading the body. */
  get read(): boolean {
    return this.#bytes !== undefined;
  }

  bytes(): Promise<Uint8Array> {
    this.#bytes ??= this.#wire.body.bytes().catch((error: Error) => {
      this.readError = error;
      throw error;
    });
    return this.#bytes;
  }

  async text(): Promise<string> {
    return decoder.decode(await this.bytes());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  /** The response to pass on: the wire's own, or one whose body is the bytes the hook read. */
  async passedOn(): Promise<WireResponse> {
    if (this.#bytes === undefined) return this.#wire;
    const bytes = await this.#bytes;
    const wire = this.#wire;
    return {
      status: wire.status,
      ...(wire.statusText === undefined ? {} : { statusText: wire.statusText }),
      headers: wire.headers,
      body: IncomingBody.of(bytes, wire.body.contentType),
    };
  }

  /** Let go of the wire body (its connection is reused) when the response is dropped. */
  discard(): void {
    if (this.#bytes === undefined) void this.#wire.body.dump();
  }
}

/**
 * A `Response` a hook returned, as the pipeline carries responses: its body read whole, up
 * to the call's `maxResponseBytes` (past it, `ResponseTooLargeError`), like any body read whole.
 */
export async function wireResponseOf(
  response: Response,
  call: Pick<CallContext, 'method' | 'url' | 'maxResponseBytes'>,
): Promise<WireResponse> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 1) headers['set-cookie'] = cookies;
  const bytes = await boundedBytes(response, call);
  return {
    status: response.status,
    statusText: response.statusText,
    headers,
    body: IncomingBody.of(bytes, response.headers.get('content-type') ?? undefined),
  };
}

async function boundedBytes(
  response: Response,
  call: Pick<CallContext, 'method' | 'url' | 'maxResponseBytes'>,
): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > call.maxResponseBytes) {
      await reader.cancel().catch(() => {});
      throw new ResponseTooLargeError(call.method, call.url, call.maxResponseBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

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

/** Turn the wire response into a standard `Response`, streaming the body (no buffering). */
export function toResponse(wire: WireResponse, method: string, url: URL): Response {
  const nullBody = NULL_BODY_STATUS.has(wire.status) || method === 'HEAD';
  if (nullBody) wire.body.resume();
  // Statuses outside 200–599 (e.g. 1xx) cannot be represented by `Response`.
  const status = wire.status >= 200 && wire.status <= 599 ? wire.status : 502;
  const response = new Response(nullBody ? null : (wire.body as unknown as ReadableStream), {
    status,
    headers: toHeaders(wire.headers),
  });
  Object.defineProperty(response, 'url', { value: url.href });
  return response;
}

import type { Dispatcher } from 'undici';

/** Largest token response read: a real one is a few KiB (a JWT and four fields). */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024; // 64 KiB
/** Largest discovery document read: real metadata documents are under 10 KiB. */
export const MAX_METADATA_BYTES = 256 * 1024; // 256 KiB

/** `65536` → `64 KiB`, for messages. */
export function kib(bytes: number): string {
  return `${Math.round(bytes / 1024)} KiB`;
}

/**
 * Cut the connection of a response whose body is not wanted. undici reports a body
 * destroyed before its end as an `error` event (`UND_ERR_ABORTED`); that is the intent
 * here, and without a listener it would be an uncaught exception.
 */
export function discardBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

/**
 * Read a response body of at most `maxBytes` as UTF-8. Resolves `undefined` when the body
 * is larger — announced by `Content-Length` or counted while reading — after destroying
 * it: the connection is cut instead of drained, so an endless or huge body costs neither
 * the request timeout nor memory (undici's `dump()` would keep reading).
 */
export async function readBounded(
  response: Pick<Dispatcher.ResponseData, 'headers' | 'body'>,
  maxBytes: number,
): Promise<string | undefined> {
  const { body } = response;
  const announced = Number(response.headers['content-length']);
  if (Number.isFinite(announced) && announced > maxBytes) {
    discardBody(body);
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      discardBody(body);
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

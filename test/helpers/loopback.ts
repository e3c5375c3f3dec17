/**
 * What every loopback server of the tests needs: listen on a free port of 127.0.0.1, read a
 * request body, and put oidc-provider behind a front that sees each token request.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** Listen on a free port of 127.0.0.1; resolves the server's base URL. */
export function listen(server: Server | HttpsServer, scheme: 'http' | 'https' = 'http') {
  return new Promise<string>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve(`${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

/** The whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Hand a request whose body was already read to oidc-provider's `handler` (it reads an
 * already-read body from `req.body`), and show `onAnswer` what the provider answers (the
 * body as text, and the status) just before it is sent.
 */
export function relayToProvider(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined,
  onAnswer: (text: string, status: number) => void,
): void {
  const write = res.end.bind(res);
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    onAnswer(
      chunk === undefined || typeof chunk === 'function' ? '' : String(chunk),
      res.statusCode,
    );
    return (write as (...args: unknown[]) => ServerResponse)(chunk, ...rest);
  }) as ServerResponse['end'];
  (req as IncomingMessage & { body?: Buffer }).body = body;
  handler?.(req, res);
}

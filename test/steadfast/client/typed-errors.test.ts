import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  createClient,
  InvalidConfigurationError,
  InvalidRequestError,
  InvalidResponseError,
  isNetworkError,
  isSteadfastError,
  NetworkError,
  type SteadfastError,
} from '../../../packages/steadfast/src/index.js';
import { closedPort } from '../../helpers/http-server.js';
import { NO_TELEMETRY, rejectionOf, useHarness } from '../support.js';

const h = useHarness();

/** Every rejection of the client is a SteadfastError whose message names method and URL, no secrets. */
function expectTyped(error: unknown, code: string): SteadfastError {
  expect(isSteadfastError(error)).toBe(true);
  expect((error as SteadfastError).code).toBe(code);
  return error as SteadfastError;
}

describe('every rejection is a SteadfastError', () => {
  it('a refused connection rejects fetch, request and getJson with a NetworkError naming method and URL', async () => {
    const port = await closedPort();
    const client = h.client(`http://127.0.0.1:${port}`, { retry: false });

    for (const call of [
      () => client.fetch('/orders?api_key=QUERY-SECRET'),
      () => client.request('/orders?api_key=QUERY-SECRET', { method: 'DELETE' }),
      () => client.getJson('/orders?api_key=QUERY-SECRET'),
      () => client.postJson('/orders?api_key=QUERY-SECRET', { a: 1 }),
    ]) {
      const error = expectTyped(await rejectionOf(call()), 'ERR_STEADFAST_NETWORK');
      expect(error).toBeInstanceOf(NetworkError);
      expect(isNetworkError(error)).toBe(true);
      expect((error as NetworkError).errorCode).toBe('ECONNREFUSED');
      expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
      expect(error.message).toMatch(
        new RegExp(`^(GET|DELETE|POST) http://127\\.0\\.0\\.1:${port}/orders\\?…: network error`),
      );
      expect(inspect(error, { depth: 10 })).not.toContain('QUERY-SECRET');
    }
  });

  it('a connection reset before the response is a NetworkError after the retries', async () => {
    const server = await h.server(['reset', 'reset', 'reset', 'reset']);
    const client = h.client(server.url);

    const error = expectTyped(await rejectionOf(client.fetch('/x')), 'ERR_STEADFAST_NETWORK');

    expect(server.requests).toHaveLength(4); // still retried: the code of the cause decides
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain((error as NetworkError).errorCode);
  });

  it('a body cut off by the server rejects the read with a NetworkError', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write('x'.repeat(1000), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    const client = h.client(`http://127.0.0.1:${port}`);
    try {
      const res = await client.fetch('/x');
      expectTyped(await rejectionOf(res.text()), 'ERR_STEADFAST_NETWORK');
      expectTyped(await rejectionOf(client.getJson('/x')), 'ERR_STEADFAST_NETWORK');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('an invalid URL is an InvalidRequestError that quotes neither userinfo nor query', async () => {
    const client = h.client('http://127.0.0.1:1');

    for (const target of [
      'http://admin:PASSWORD@[::1/x?access_token=TOKEN-SECRET&api_key=KEY-SECRET',
      'http://[bad/x?access_token=TOKEN-SECRET',
      '//admin:PASSWORD@[bad#frag-SECRET',
    ]) {
      const error = expectTyped(
        await rejectionOf(client.fetch(target)),
        'ERR_STEADFAST_INVALID_REQUEST',
      );
      expect(error).toBeInstanceOf(InvalidRequestError);
      // Not in the message, nor anywhere a logger would print (cause chain included).
      for (const secret of ['PASSWORD', 'admin', 'TOKEN-SECRET', 'KEY-SECRET', 'frag-SECRET'])
        expect(inspect(error, { depth: 10 })).not.toContain(secret);
    }
    const noBase = createClient({ name: 'nobase', telemetry: NO_TELEMETRY });
    const error = await rejectionOf(noBase.fetch('/relative?token=SECRET'));
    expectTyped(error, 'ERR_STEADFAST_INVALID_REQUEST');
    expect((error as Error).message).not.toContain('SECRET');
    await noBase.close();
  });

  it('an unsupported protocol, header value or body type is an InvalidRequestError, never sent', async () => {
    const server = await h.server();
    const client = h.client(server.url);

    expectTyped(
      await rejectionOf(client.fetch('ftp://127.0.0.1/x')),
      'ERR_STEADFAST_INVALID_REQUEST',
    );
    expectTyped(
      await rejectionOf(client.fetch('/x', { headers: { 'x-bad': 'a\r\nb' } })),
      'ERR_STEADFAST_INVALID_REQUEST',
    );
    expectTyped(
      await rejectionOf(client.fetch('/x', { method: 'POST', body: 42 as never })),
      'ERR_STEADFAST_INVALID_REQUEST',
    );
    expectTyped(
      await rejectionOf(client.fetch('/x', null as never)),
      'ERR_STEADFAST_INVALID_REQUEST',
    );
    expect(server.requests).toHaveLength(0);
  });

  it('getJson of a 2xx body that is not JSON is an InvalidResponseError with the parse error as cause', async () => {
    const server = await h.server([{ status: 200, body: '<html>not json</html>' }]);
    const client = h.client(server.url);

    const error = expectTyped(
      await rejectionOf(client.getJson('/x')),
      'ERR_STEADFAST_INVALID_RESPONSE',
    );

    expect(error).toBeInstanceOf(InvalidResponseError);
    expect((error as InvalidResponseError).status).toBe(200);
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });
});

describe('configuration errors quote no secrets', () => {
  it.each([
    ['baseUrl', 'http://admin:PASSWORD@[bad/api?key=KEY-SECRET'],
    ['baseUrl', 'http://admin:PASSWORD@host.example/api'],
    ['baseUrl', 'notaurl?key=KEY-SECRET'],
    ['origins', ['http://admin:PASSWORD@[bad?key=KEY-SECRET']],
    ['authOrigins', ['http://admin:PASSWORD@[bad?key=KEY-SECRET']],
  ])('an invalid %s', (field, value) => {
    let error: unknown;
    try {
      createClient({ name: 'c', telemetry: NO_TELEMETRY, [field]: value } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    for (const secret of ['PASSWORD', 'KEY-SECRET']) expect(String(error)).not.toContain(secret);
  });
});

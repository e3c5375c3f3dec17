import { describe, expect, it } from 'vitest';
import { createClient, InvalidConfigurationError } from '../../../packages/steadfast/src/index.js';
import { NO_TELEMETRY, useHarness } from '../support.js';

const h = useHarness();

describe('the client option `headers`', () => {
  it('sends the default headers with every call, whatever helper makes it', async () => {
    const server = await h.server(() => ({ status: 200, body: '{}' }));
    const client = h.client(server.url, {
      headers: { 'User-Agent': 'billing/1.4', 'x-tenant': 'acme' },
    });

    await (await client.fetch('/a')).text();
    await (await client.request('/b')).body.dump();
    await client.getJson('/c');
    await client.postJson('/d', { n: 1 });

    expect(server.requests).toHaveLength(4);
    for (const request of server.requests) {
      expect(request.headers['user-agent']).toBe('billing/1.4');
      expect(request.headers['x-tenant']).toBe('acme');
    }
  });

  it("lets a call's own header win, whatever the case of its name", async () => {
    const server = await h.server();
    const client = h.client(server.url, { headers: { 'x-tenant': 'acme', 'x-kept': 'yes' } });

    await (await client.fetch('/', { headers: { 'X-Tenant': 'globex' } })).text();
    await (await client.fetch('/', { headers: new Headers({ 'X-TENANT': 'initech' }) })).text();
    await (await client.fetch('/', { headers: [['x-Tenant', 'umbrella']] })).text();

    expect(server.requests.map((r) => r.headers['x-tenant'])).toEqual([
      'globex',
      'initech',
      'umbrella',
    ]);
    // One value each: the default was not sent beside the call's own.
    for (const request of server.requests) expect(request.headers['x-kept']).toBe('yes');
  });

  it('leaves a default out of a call whose headers set it to undefined, whatever the case', async () => {
    const server = await h.server();
    const client = h.client(server.url, { headers: { 'x-tenant': 'acme', 'x-kept': 'yes' } });

    await (await client.fetch('/', { headers: { 'X-Tenant': undefined } })).text();
    await (await client.fetch('/')).text();

    expect(server.requests.map((r) => r.headers['x-tenant'])).toEqual([undefined, 'acme']);
    for (const request of server.requests) expect(request.headers['x-kept']).toBe('yes');
  });

  it("counts as the caller's own: wins over implied types, not over a multipart boundary", async () => {
    const server = await h.server(() => ({ status: 200, body: '{}' }));
    const client = h.client(server.url, {
      headers: { accept: 'application/vnd.acme+json', 'content-type': 'application/json' },
    });
    const form = new FormData();
    form.set('a', '1');

    await client.getJson('/');
    await (await client.fetch('/', { method: 'POST', body: '{"a":1}' })).text();
    await (await client.fetch('/', { method: 'POST', body: form })).text();

    expect(server.requests[0]?.headers.accept).toBe('application/vnd.acme+json');
    expect(server.requests[1]?.headers['content-type']).toBe('application/json');
    expect(server.requests[2]?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  });

  it.each([
    ['not an object', 'x-api-key: s3cret', /must be an object of header names/],
    ['an invalid name', { 'bad name': 's3cret' }, /not an HTTP header name/],
    [
      'a value with CR LF',
      { 'x-api-key': 's3cret\r\nx-injected: 1' },
      /"x-api-key".*not a valid header value/,
    ],
    [
      'a value that is not a string',
      { 'x-retries': 3 },
      /must map "x-retries" to a string, got number/,
    ],
    ['a name given twice', { 'X-Tenant': 'a', 'x-tenant': 's3cret' }, /"x-tenant" twice/],
    ['a header the transport sets', { 'Content-Length': '5' }, /may not set "content-length"/],
    ['an Idempotency-Key', { 'Idempotency-Key': 's3cret' }, /idempotencyKey/],
  ])(
    'rejects %s at construction, naming the option and never quoting a value',
    (_kind, headers, message) => {
      let error: unknown;
      try {
        createClient({ name: 'h', telemetry: NO_TELEMETRY, headers: headers as never });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InvalidConfigurationError);
      expect((error as InvalidConfigurationError).field).toBe('headers');
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('s3cret');
    },
  );
});

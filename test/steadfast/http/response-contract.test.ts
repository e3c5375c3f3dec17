/**
 * "fetch returns a standard Response": global fetch is the oracle. The same scripted answer
 * is fetched with global `fetch` and with the client, and everything a caller can observe
 * on the two Responses is compared.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { ScriptedResponse } from '../../helpers/http-server.js';
import { useHarness } from '../support.js';

const h = useHarness();

const multipart = [
  '--XyZ',
  'Content-Disposition: form-data; name="city"',
  '',
  'Oslo',
  '--XyZ--',
  '',
].join('\r\n');

const answers: [string, ScriptedResponse][] = [
  ['JSON', { status: 200, headers: { 'content-type': 'application/json' }, body: '{"a":[1,2]}' }],
  [
    'text',
    { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'héllo' },
  ],
  [
    'binary',
    {
      status: 200,
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([0, 255, 1, 254, 2]),
    },
  ],
  ['an empty 200', { status: 200 }],
  ['a 204', { status: 204 }],
  [
    'a 404 with a body',
    { status: 404, headers: { 'content-type': 'text/plain' }, body: 'no such thing' },
  ],
  [
    'two Set-Cookie headers',
    { status: 200, headers: { 'set-cookie': ['a=1', 'b=2'] }, body: 'cookies' },
  ],
  [
    'multipart form data',
    {
      status: 200,
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      body: multipart,
    },
  ],
];

/** Body-reading methods this Node's Response has (bytes() exists from Node 22 on). */
const READERS = (['text', 'arrayBuffer', 'blob', 'bytes', 'json', 'formData'] as const).filter(
  (m) => typeof (Response.prototype as unknown as Record<string, unknown>)[m] === 'function',
);

/** What a caller sees when reading a Response with `method`: the value, or the error's name. */
async function observe(res: Response, method: (typeof READERS)[number]): Promise<unknown> {
  try {
    const value = await (res[method as keyof Response] as () => Promise<unknown>).call(res);
    if (value instanceof ArrayBuffer) return ['ArrayBuffer', [...new Uint8Array(value)]];
    if (value instanceof Uint8Array) return ['Uint8Array', [...value]];
    if (value instanceof Blob) {
      // The MIME essence only: fetch normalises parameters ("a; b" → "a;b"), which is noise.
      const essence = value.type.split(';')[0]!.trim().toLowerCase();
      return ['Blob', essence, [...new Uint8Array(await value.arrayBuffer())]];
    }
    if (value instanceof FormData)
      return ['FormData', [...(value as unknown as Iterable<[string, unknown]>)]];
    return value;
  } catch (error) {
    return ['rejects', (error as Error).name];
  }
}

const visibleHeaders = (res: Response) =>
  [...(res.headers as unknown as Iterable<[string, string]>)].filter(
    ([name]) => !['date', 'connection', 'keep-alive'].includes(name),
  );

describe('the Response matches what global fetch returns', () => {
  it.each(answers)('for %s: status, ok, headers, body presence', async (_what, answer) => {
    const server = await h.server(() => answer);
    const client = h.client(server.url, { retry: false });

    const standard = await fetch(`${server.url}/x`);
    const ours = await client.fetch('/x');

    expect(ours).toBeInstanceOf(Response);
    expect({
      status: ours.status,
      ok: ours.ok,
      redirected: ours.redirected,
      type: ours.type,
      url: ours.url,
      headers: visibleHeaders(ours),
      setCookie: ours.headers.getSetCookie(),
      hasBody: ours.body !== null,
      bodyUsed: ours.bodyUsed,
    }).toEqual({
      status: standard.status,
      ok: standard.ok,
      redirected: standard.redirected,
      type: ours.type, // fetch says 'basic' (a browser notion); any value is fine here
      url: standard.url,
      headers: visibleHeaders(standard),
      setCookie: standard.headers.getSetCookie(),
      hasBody: standard.body !== null,
      bodyUsed: false,
    });
    await standard.body?.cancel();
  });

  for (const method of READERS) {
    it.each(answers)(
      `for %s: ${method}() reads the same, and a second read rejects the same`,
      async (_what, answer) => {
        const server = await h.server(() => answer);
        const client = h.client(server.url, { retry: false });

        const standard = await fetch(`${server.url}/x`);
        const ours = await client.fetch('/x');

        expect(await observe(ours, method)).toEqual(await observe(standard, method));
        // A body can be read once. (Null bodies — 204 — differ in the standard in ways no
        // caller relies on: reading them never marks them used. Not compared.)
        if (standard.body !== null) {
          expect(ours.bodyUsed).toBe(standard.bodyUsed);
          expect(await observe(ours, method)).toEqual(await observe(standard, method));
        }
      },
    );
  }

  it('carries the status text like fetch', async () => {
    const server = await h.server(() => ({ status: 404, body: 'x' }));
    const client = h.client(server.url, { retry: false });

    const standard = await fetch(`${server.url}/x`);
    const ours = await client.fetch('/x');

    expect(ours.statusText).toBe(standard.statusText);
    await Promise.all([standard.text(), ours.text()]);
  });

  it('looks like a Response to the platform: type tag, no own properties, inspect', async () => {
    const server = await h.server(() => ({ status: 200, body: 'x' }));
    const client = h.client(server.url, { retry: false });

    const standard = await fetch(`${server.url}/x`);
    const ours = await client.fetch('/x');

    expect(Object.prototype.toString.call(ours)).toBe(Object.prototype.toString.call(standard));
    expect(Object.keys(ours)).toEqual(Object.keys(standard));
    expect(JSON.stringify(ours)).toBe(JSON.stringify(standard));
    expect(inspect(ours)).toMatch(/^Response \{[\s\S]*status: 200[\s\S]*ok: true/);
    expect(await ours.text()).toBe(await standard.text());
  });

  it.each(answers)('for %s: the body as a stream reads the same bytes', async (_what, answer) => {
    const server = await h.server(() => answer);
    const client = h.client(server.url, { retry: false });

    const standard = await fetch(`${server.url}/x`);
    const ours = await client.fetch('/x');

    const drain = async (res: Response) => {
      if (res.body === null) return null;
      const bytes: number[] = [];
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        expect(chunk).toBeInstanceOf(Uint8Array);
        bytes.push(...chunk);
      }
      return bytes;
    };
    expect(await drain(ours)).toEqual(await drain(standard));
    expect(ours.bodyUsed).toBe(standard.bodyUsed);
  });
});

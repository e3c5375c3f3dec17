import { describe, expect, it } from 'vitest';
import { useHarness } from '../support.js';

const h = useHarness();
const JSON_BODY = {
  status: 200,
  headers: { 'content-type': 'application/json', 'x-a': '1' },
  body: '{"a":[1,2]}',
};

describe('the Response fetch() resolves with', () => {
  it('is a real Response with status, ok, url and headers', async () => {
    const server = await h.server([JSON_BODY]);
    const res = await h.client(server.url).fetch('/x?q=1');

    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.url).toBe(`${server.url}/x?q=1`);
    expect(res.headers.get('x-a')).toBe('1');
    expect(await res.json()).toEqual({ a: [1, 2] });
  });

  it('can be read once: a second read rejects and bodyUsed is true', async () => {
    const server = await h.server([JSON_BODY]);
    const res = await h.client(server.url).fetch('/x');

    expect(res.bodyUsed).toBe(false);
    expect(await res.text()).toBe('{"a":[1,2]}');
    expect(res.bodyUsed).toBe(true);
    await expect(res.text()).rejects.toThrow(TypeError);
  });

  it('exposes the body as a web ReadableStream that a reader can drain', async () => {
    const server = await h.server([{ status: 200, body: 'x'.repeat(100_000) }]);
    const res = await h.client(server.url).fetch('/x');

    const reader = res.body!.getReader();
    let bytes = 0;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      bytes += chunk.value.length;

    expect(bytes).toBe(100_000);
    expect(res.bodyUsed).toBe(true);
  });

  it('reads through the stream once the stream was exposed', async () => {
    const server = await h.server([JSON_BODY]);
    const res = await h.client(server.url).fetch('/x');

    expect(res.body).not.toBeNull();
    expect(await res.json()).toEqual({ a: [1, 2] });
  });

  it('clones: both copies read the same bytes', async () => {
    const server = await h.server([JSON_BODY]);
    const res = await h.client(server.url).fetch('/x');

    const copy = res.clone();

    expect(copy.url).toBe(res.url);
    expect(copy.headers.get('x-a')).toBe('1');
    expect(await copy.text()).toBe('{"a":[1,2]}');
    expect(await res.text()).toBe('{"a":[1,2]}');
  });

  it('has a null body for 204 and reads it as empty text', async () => {
    const server = await h.server([{ status: 204 }]);
    const res = await h.client(server.url).fetch('/x');

    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect(await res.text()).toBe('');
  });

  it('reads blob and arrayBuffer', async () => {
    const server = await h.server([JSON_BODY, JSON_BODY]);
    const client = h.client(server.url);

    expect(new TextDecoder().decode(await (await client.fetch('/x')).arrayBuffer())).toBe(
      '{"a":[1,2]}',
    );
    expect(await (await (await client.fetch('/x')).blob()).text()).toBe('{"a":[1,2]}');
  });
});

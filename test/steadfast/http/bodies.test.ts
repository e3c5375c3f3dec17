import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  isNonReplayableBodyError,
  NonReplayableBodyError,
} from '../../../packages/steadfast/src/index.js';
import type { RecordedRequest } from '../../helpers/http-server.js';
import { recordEvents, rejectionOf, useHarness } from '../support.js';

const h = useHarness();

const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) % 256));

/** A multipart body with its boundary replaced, so two encodings of one form compare equal. */
function withoutBoundary(request: RecordedRequest): { type: string; body: string } {
  const type = String(request.headers['content-type']);
  const boundary = /boundary=(.+)$/.exec(type)?.[1] ?? '<none>';
  return {
    type: type.replace(boundary, 'B'),
    body: request.body.toString('latin1').replaceAll(boundary, 'B'),
  };
}

describe('replayable request bodies are re-sent byte for byte', () => {
  const cases: [string, () => unknown, Buffer, string | undefined][] = [
    ['a string', () => 'héllo wörld', Buffer.from('héllo wörld'), 'text/plain;charset=UTF-8'],
    ['a Buffer', () => bytes(5000), bytes(5000), undefined],
    ['a Uint8Array', () => new Uint8Array(bytes(300)), bytes(300), undefined],
    ['an ArrayBuffer', () => new Uint8Array(bytes(64)).buffer, bytes(64), undefined],
    [
      'URLSearchParams',
      () => new URLSearchParams({ q: 'a b', token: 'x&y' }),
      Buffer.from('q=a+b&token=x%26y'),
      'application/x-www-form-urlencoded;charset=UTF-8',
    ],
    [
      'a Blob',
      () => new Blob([bytes(1000)], { type: 'application/octet-stream' }),
      bytes(1000),
      'application/octet-stream',
    ],
    [
      'a factory returning a string',
      () => () => 'made fresh',
      Buffer.from('made fresh'),
      undefined,
    ],
    [
      'a factory returning a fresh Node stream',
      () => () => Readable.from([bytes(10), bytes(20)]),
      Buffer.concat([bytes(10), bytes(20)]),
      undefined,
    ],
    [
      'a factory returning a fresh web stream',
      () => () =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array(bytes(40)));
            controller.close();
          },
        }),
      bytes(40),
      undefined,
    ],
  ];

  it.each(cases)('%s', async (_name, makeBody, expected, contentType) => {
    const server = await h.server([{ status: 503 }, { status: 503 }, { status: 200 }]);
    const client = h.client(server.url);

    const res = await client.fetch('/upload', { method: 'PUT', body: makeBody() as never });

    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(3);
    for (const request of server.requests) {
      expect(request.complete).toBe(true);
      expect(request.body.equals(expected)).toBe(true);
      if (contentType) expect(request.headers['content-type']).toBe(contentType);
    }
  });

  it('FormData (same parts each time; only the multipart boundary may differ)', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url);
    const form = new FormData();
    form.append('name', 'steadfast');
    form.append('file', new Blob([bytes(256)], { type: 'application/octet-stream' }), 'f.bin');

    const res = await client.fetch('/upload', { method: 'PUT', body: form });

    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests.map(withoutBoundary);
    expect(first!.type).toMatch(/^multipart\/form-data; boundary=B$/);
    expect(first!.body).toContain('steadfast');
    expect(first!.body).toContain(bytes(256).toString('latin1'));
    expect(second).toEqual(first);
  });

  it('keeps a caller-set content-type over the one implied by the body', async () => {
    const server = await h.server([{ status: 503 }, { status: 200 }]);
    const client = h.client(server.url);

    await client.fetch('/x', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });

    expect(server.requests.map((r) => r.headers['content-type'])).toEqual([
      'application/json',
      'application/json',
    ]);
  });
});

describe('a one-shot stream body is never re-sent', () => {
  const streams: [string, () => unknown][] = [
    ['a Node Readable', () => Readable.from([bytes(100), bytes(100)])],
    [
      'a web ReadableStream',
      () =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array(bytes(100)));
            controller.enqueue(new Uint8Array(bytes(100)));
            controller.close();
          },
        }),
    ],
  ];

  it.each(streams)(
    '%s: a 503 is returned as is, and the give-up says why',
    async (_name, makeBody) => {
      const server = await h.server([{ status: 503, body: 'unavailable' }, { status: 200 }]);
      const client = h.client(server.url);
      const events = recordEvents(client);

      const res = await client.fetch('/upload', { method: 'PUT', body: makeBody() as never });

      expect(res.status).toBe(503);
      expect(await res.text()).toBe('unavailable');
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.complete).toBe(true);
      expect(server.requests[0]?.body.equals(Buffer.concat([bytes(100), bytes(100)]))).toBe(true);
      expect(events.retries).toHaveLength(0);
      expect(events.giveUps.map((e) => e.reason)).toEqual(['body_not_replayable']);
    },
  );

  it.each(streams)(
    '%s: a reset ends with NonReplayableBodyError naming the cause',
    async (_name, makeBody) => {
      const server = await h.server(['reset', { status: 200 }]);
      const client = h.client(server.url);

      const error = await rejectionOf(
        client.fetch('/upload', { method: 'PUT', body: makeBody() as never }),
      );

      expect(isNonReplayableBodyError(error)).toBe(true);
      expect(error).toBeInstanceOf(NonReplayableBodyError);
      expect((error as NonReplayableBodyError).code).toBe('ERR_STEADFAST_NON_REPLAYABLE_BODY');
      expect((error as NonReplayableBodyError).message).toContain('PUT');
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect(server.requests).toHaveLength(1);
    },
  );

  it('never sends an empty or partial second request, even with many retries allowed', async () => {
    const server = await h.server(() => ({ status: 503 }));
    const client = h.client(server.url);

    await client.fetch('/upload', {
      method: 'PUT',
      body: Readable.from([bytes(1000)]),
    });

    expect(server.requests).toHaveLength(1);
    expect(server.requests.every((r) => r.complete && r.body.length === 1000)).toBe(true);
  });
});

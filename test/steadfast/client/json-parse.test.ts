/**
 * The JSON helpers' `parse`: any `(value: unknown) => T` (a valibot or zod schema's `parse`,
 * or a hand-written one) types and checks the body; a body it throws on is a typed
 * `ResponseValidationError`, never a silent `any`, and is not retried.
 */
import * as v from 'valibot';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  InvalidRequestError,
  isInvalidResponseError,
  isResponseValidationError,
  type ResponseValidationError,
} from '../../../packages/steadfast/src/index.js';
import { rejectionOf, useHarness } from '../support.js';

const h = useHarness();

const Forecast = v.array(v.object({ date: v.string(), temperatureC: v.number() }));
const parseForecast = (body: unknown) => v.parse(Forecast, body);

const json = (body: unknown, status = 200) => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('getJson with parse', () => {
  it('resolves with what parse returns, typed by it', async () => {
    const server = await h.server([json([{ date: '2026-12-05', temperatureC: 3 }])]);
    const client = h.client(server.url);

    const result = await client.getJson('/forecast', {
      parse: (body) => ({ days: parseForecast(body) }),
    });

    expectTypeOf(result).toEqualTypeOf<{ days: { date: string; temperatureC: number }[] }>();
    expect(result).toEqual({ days: [{ date: '2026-12-05', temperatureC: 3 }] });
  });

  it('rejects a body parse throws on with ResponseValidationError naming the method, the URL without its query and the first issue, not retried', async () => {
    const server = await h.server([json([{ date: '2026-12-05', temperatureC: 'cold' }])]);
    const client = h.client(server.url);

    const error = await rejectionOf(
      client.getJson('/forecast?api_key=SECRET', { parse: parseForecast }),
    );

    expect(isResponseValidationError(error)).toBe(true);
    const e = error as ResponseValidationError;
    expect(e.code).toBe('ERR_STEADFAST_RESPONSE_VALIDATION');
    expect(e.status).toBe(200);
    expect(e.message).toContain(`GET ${server.url}/forecast?…`);
    expect(e.message).not.toContain('SECRET');
    expect(e.issue).toMatch(/^0\.temperatureC: Invalid type: Expected number/);
    expect(e.message).toContain(e.issue);
    expect(v.isValiError(e.cause)).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it("takes a hand-written parser; the thrown error's first line, bounded, is the issue", async () => {
    const server = await h.server([json({ id: 7 })]);
    const client = h.client(server.url);
    const thrown = new Error(`id must be a string\n${'detail '.repeat(100)}`);
    const parseUser = (body: unknown): { id: string } => {
      if (typeof (body as { id?: unknown }).id !== 'string') throw thrown;
      return body as { id: string };
    };

    const error = (await rejectionOf(
      client.getJson('/user', { parse: parseUser }),
    )) as ResponseValidationError;

    expect(error.issue).toBe('id must be a string');
    expect(error.cause).toBe(thrown);
    expect(error.message).not.toContain('detail');

    const long = await h.server([json({})]);
    const tooLong = (await rejectionOf(
      h.client(long.url).getJson('/', {
        parse: () => {
          throw new Error('x'.repeat(1_000));
        },
      }),
    )) as ResponseValidationError;
    expect(tooLong.issue.length).toBeLessThanOrEqual(201);
  });

  it('leaves a body that is not JSON an InvalidResponseError, parse not called', async () => {
    const server = await h.server([{ status: 200, body: '<html>' }]);
    const client = h.client(server.url);
    let called = false;

    const error = await rejectionOf(
      client.getJson('/', {
        parse: (body) => {
          called = true;
          return body;
        },
      }),
    );

    expect(isInvalidResponseError(error)).toBe(true);
    expect(called).toBe(false);
  });

  it('gives parse the undefined of a 204, so a schema that wants a body rejects it', async () => {
    const server = await h.server([{ status: 204 }]);
    const client = h.client(server.url);

    const error = await rejectionOf(client.getJson('/', { parse: parseForecast }));

    expect(isResponseValidationError(error)).toBe(true);
  });

  it('rejects a parse that is not a function before anything is sent', async () => {
    const server = await h.server();
    const client = h.client(server.url);

    const error = await rejectionOf(client.getJson('/', { parse: 'Forecast' as never }));

    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field: 'parse' });
    expect((error as Error).message).toMatch(/must be a function/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('postJson with parse', () => {
  it('validates the answer to a POST the same way', async () => {
    const server = await h.server([json({ id: 'o-1' }, 201), json({ id: 1 }, 201)]);
    const client = h.client(server.url);
    const Order = v.object({ id: v.string() });
    const parse = (body: unknown) => v.parse(Order, body);

    const order = await client.postJson('/orders', { sku: 'A-1' }, { parse });
    expectTypeOf(order).toEqualTypeOf<{ id: string }>();
    expect(order).toEqual({ id: 'o-1' });

    const error = await rejectionOf(client.postJson('/orders', { sku: 'A-1' }, { parse }));
    expect(error).toMatchObject({ code: 'ERR_STEADFAST_RESPONSE_VALIDATION', status: 201 });
    expect((error as Error).message).toContain(`POST ${server.url}/orders`);
  });
});

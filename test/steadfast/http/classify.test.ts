import { describe, expect, it } from 'vitest';
import {
  AbortError,
  CircuitOpenError,
  ConcurrencyLimitedError,
  PoolExhaustedError,
  TimeoutError,
} from '../../../packages/steadfast/src/errors.js';
import {
  errorCode,
  errorTypeOf,
  isTransient,
  neverReachedServer,
} from '../../../packages/steadfast/src/http/classify.js';
import type { Outcome } from '../../../packages/steadfast/src/pipeline/types.js';

const URL_ = 'http://api.test/x';
const response = (status: number): Outcome => ({
  kind: 'response',
  response: { status, headers: {}, body: undefined as never },
});
const failure = (error: Error): Outcome => ({ kind: 'error', error });
const withCode = (code: string, cause?: unknown): Error =>
  Object.assign(new Error(code, { cause }), { code });

describe('classifying outcomes', () => {
  it('finds an error code down the cause chain, skipping the SDK’s own codes', () => {
    const wrapped = Object.assign(new Error('fetch failed', { cause: withCode('ECONNRESET') }), {
      code: 'ERR_STEADFAST_NETWORK',
    });
    expect(errorCode(wrapped)).toBe('ECONNRESET');
    expect(errorCode(new Error('plain'))).toBeUndefined();
    expect(errorCode(undefined)).toBeUndefined();
  });

  it('stops looking after four causes', () => {
    let error: unknown = withCode('ECONNRESET');
    for (let i = 0; i < 4; i++) error = new Error('wrapper', { cause: error });
    expect(errorCode(error)).toBeUndefined();
  });

  it('treats 408, 429 and 5xx but 501 as transient, and 4xx and 2xx as not', () => {
    const transient = [408, 429, 500, 502, 503, 504].map((s) => isTransient(response(s)));
    const not = [200, 400, 401, 404, 501].map((s) => isTransient(response(s)));
    expect(transient.every(Boolean)).toBe(true);
    expect(not.some(Boolean)).toBe(false);
  });

  it('treats network errors by code, and only an attempt timeout among the SDK’s errors', () => {
    expect(isTransient(failure(withCode('ECONNRESET')))).toBe(true);
    expect(isTransient(failure(withCode('EACCES')))).toBe(false);
    expect(isTransient(failure(new TimeoutError('GET', URL_, 'attempt', 100)))).toBe(true);
    expect(isTransient(failure(new TimeoutError('GET', URL_, 'total', 100)))).toBe(false);
    expect(
      isTransient(failure(new PoolExhaustedError('GET', URL_, 100, 'http://api.test', 4))),
    ).toBe(false);
    expect(isTransient(failure(new CircuitOpenError('GET', URL_, 'http://api.test')))).toBe(false);
    expect(isTransient(failure(new ConcurrencyLimitedError('GET', URL_, 8)))).toBe(false);
    expect(isTransient(failure(new AbortError('GET', URL_)))).toBe(false);
  });

  it('knows a request never reached the server only from connection-stage codes', () => {
    expect(neverReachedServer(failure(withCode('ECONNREFUSED')))).toBe(true);
    expect(neverReachedServer(failure(withCode('UND_ERR_CONNECT_TIMEOUT')))).toBe(true);
    expect(neverReachedServer(failure(withCode('ECONNRESET')))).toBe(false);
    expect(neverReachedServer(response(503))).toBe(false);
  });

  it('names the error type of the telemetry contract', () => {
    expect(errorTypeOf(response(200))).toBeUndefined();
    expect(errorTypeOf(response(404))).toBe('404');
    expect(errorTypeOf(failure(withCode('ECONNREFUSED')))).toBe('ECONNREFUSED');
    expect(errorTypeOf(failure(withCode('E_SOMETHING_ELSE')))).toBe('_OTHER');
    expect(errorTypeOf(failure(new TimeoutError('GET', URL_, 'body', 100)))).toBe('timeout');
    expect(
      errorTypeOf(failure(new PoolExhaustedError('GET', URL_, 100, 'http://api.test', 4))),
    ).toBe('pool_exhausted');
    expect(errorTypeOf(failure(new CircuitOpenError('GET', URL_, 'http://api.test')))).toBe(
      'circuit_open',
    );
    expect(errorTypeOf(failure(new ConcurrencyLimitedError('GET', URL_, 8)))).toBe(
      'concurrency_limited',
    );
    expect(errorTypeOf(failure(new AbortError('GET', URL_)))).toBeUndefined();
  });
});

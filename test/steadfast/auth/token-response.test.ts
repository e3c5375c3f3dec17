import { describe, expect, it } from 'vitest';
import { TokenEndpointError } from '../../../packages/steadfast/src/auth/errors.js';
import { parseTokenResponse } from '../../../packages/steadfast/src/auth/token-response.js';

const limits = { defaultLifetimeMs: 300_000, maxLifetimeMs: 86_400_000 };
const SECRET = 'the-client-secret';
const redact = (t: string) => t.split(SECRET).join('[redacted]');
const parse = (status: number, body: unknown, retryAfter?: string) =>
  parseTokenResponse(
    { status, retryAfter, text: typeof body === 'string' ? body : JSON.stringify(body) },
    limits,
    redact,
  );
const failure = (status: number, body: unknown, retryAfter?: string): TokenEndpointError => {
  try {
    parse(status, body, retryAfter);
  } catch (error) {
    return error as TokenEndpointError;
  }
  throw new Error('expected a TokenEndpointError');
};

describe('token response parsing', () => {
  it('accepts a Bearer token with expires_in in seconds (number or numeric string)', () => {
    expect(parse(200, { access_token: 'abc', token_type: 'Bearer', expires_in: 60 })).toMatchObject(
      {
        accessToken: 'abc',
        tokenType: 'Bearer',
        lifetimeMs: 60_000,
        defaultedLifetime: false,
      },
    );
    expect(
      parse(200, { access_token: 'abc', token_type: 'bearer', expires_in: '120' }).lifetimeMs,
    ).toBe(120_000);
  });

  it('uses the default lifetime when expires_in is missing, and reads a missing token_type as Bearer', () => {
    expect(parse(200, { access_token: 'abc' })).toMatchObject({
      lifetimeMs: 300_000,
      defaultedLifetime: true,
    });
  });

  it.each([
    ['not JSON', '<html>gateway</html>'],
    ['a JSON array', [1, 2]],
    ['no access_token', { token_type: 'Bearer', expires_in: 60 }],
    ['an empty access_token', { access_token: '', expires_in: 60 }],
    ['an access_token with a line break', { access_token: 'abc\r\nx-injected: 1', expires_in: 60 }],
    ['a negative expires_in', { access_token: 'abc', expires_in: -5 }],
    ['a zero expires_in', { access_token: 'abc', expires_in: 0 }],
    ['a non-numeric expires_in', { access_token: 'abc', expires_in: 'soon' }],
    ['an absurd expires_in', { access_token: 'abc', expires_in: 10 * 365 * 86_400 }],
  ])('rejects %s as malformed_response, without quoting the body', (_name, body) => {
    const error = failure(200, body);
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error.errorType).toBe('malformed_response');
    expect(error.kind).toBe('malformed_response');
    expect(error.message).not.toContain('abc');
  });

  it('rejects a token type it cannot send', () => {
    const error = failure(200, { access_token: 'abc', token_type: 'mac', expires_in: 60 });
    expect(error.errorType).toBe('unsupported_token_type');
    expect(error.message).toContain('"mac"');
  });

  it.each([
    'invalid_client',
    'unauthorized_client',
    'invalid_scope',
    'unsupported_grant_type',
    'invalid_grant',
  ])('classifies %s as a configuration error and names it', (code) => {
    const error = failure(code === 'invalid_client' ? 401 : 400, { error: code });
    expect(error.kind).toBe('configuration');
    expect(error.errorType).toBe(code);
    expect(error.message).toContain(code);
  });

  it('classifies 5xx, 429 and server_error as retryable and reads Retry-After', () => {
    const error = failure(503, 'Service Unavailable', '7');
    expect(error).toMatchObject({ kind: 'retryable', errorType: '503', retryAfterMs: 7000 });
    expect(failure(429, {}).kind).toBe('retryable');
    expect(failure(400, { error: 'server_error' }).kind).toBe('retryable');
  });

  it('redacts the client secret when the server echoes it in error_description', () => {
    const error = failure(401, {
      error: 'invalid_client',
      error_description: `bad secret ${SECRET}`,
    });
    expect(error.message).not.toContain(SECRET);
    expect(error.message).toContain('[redacted]');
  });

  it('fails a 2xx whose body was too large to read as response_too_large', () => {
    const error = (() => {
      try {
        parseTokenResponse({ status: 200, retryAfter: undefined, text: undefined }, limits, redact);
      } catch (e) {
        return e as TokenEndpointError;
      }
      throw new Error('expected a TokenEndpointError');
    })();
    expect(error).toMatchObject({ errorType: 'response_too_large', status: 200 });
    expect(error.message).toContain('64 KiB');
  });

  it('classifies an error answer too large to read by its status and Retry-After', () => {
    const error = (() => {
      try {
        parseTokenResponse({ status: 503, retryAfter: '2', text: undefined }, limits, redact);
      } catch (e) {
        return e as TokenEndpointError;
      }
      throw new Error('expected a TokenEndpointError');
    })();
    expect(error).toMatchObject({ errorType: '503', kind: 'retryable', retryAfterMs: 2000 });
  });

  it('never shows or labels with an error code or token type that carries the secret', () => {
    const codeSecret = 'abc_secret_1';
    const hide = (t: string) => t.split(codeSecret).join('[redacted]');
    const run = (status: number, body: unknown) => {
      try {
        parseTokenResponse(
          { status, retryAfter: undefined, text: JSON.stringify(body) },
          limits,
          hide,
        );
      } catch (e) {
        return e as TokenEndpointError;
      }
      throw new Error('expected a TokenEndpointError');
    };
    const refused = run(400, { error: codeSecret });
    expect(refused.errorType).toBe('400');
    expect(refused.message).not.toContain(codeSecret);
    const typed = run(200, { access_token: 'abc', token_type: codeSecret });
    expect(typed.message).not.toContain(codeSecret);
  });
});

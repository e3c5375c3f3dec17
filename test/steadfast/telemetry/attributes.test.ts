import { describe, expect, it } from 'vitest';
import {
  boundErrorType,
  boundStatusCode,
  normalizeMethod,
  redactOriginAndPath,
  redactUrl,
  serverOf,
} from '../../../packages/steadfast/src/telemetry/attributes.js';
import { negotiateFormat } from '../../../packages/steadfast/src/telemetry/metrics/exposition.js';

describe('url.full', () => {
  it('redacts userinfo, every query value and every bare part; keeps keys, drops the fragment', () => {
    expect(
      redactUrl(
        new URL('https://alice:pw@api.example.com:8443/v1/items?token=abc&page=2&flag#frag'),
      ),
    ).toBe(
      'https://REDACTED:REDACTED@api.example.com:8443/v1/items?token=REDACTED&page=REDACTED&REDACTED',
    );
    expect(redactUrl(new URL('http://h/p?SECRET'))).toBe('http://h/p?REDACTED');
    expect(redactUrl(new URL('http://h/p?a&b=c'))).toBe('http://h/p?REDACTED&b=REDACTED');
    expect(redactUrl(new URL('http://h/p?S%3DX&k=%26v'))).toBe('http://h/p?REDACTED&k=REDACTED');
    expect(redactUrl(new URL('http://:pw@h/p?=v&&'))).toBe(
      'http://REDACTED:REDACTED@h/p?=REDACTED&&',
    );
    expect(redactUrl(new URL('http://h/p?'))).toBe('http://h/p');
  });

  it('is the same from origin + path as from the parsed URL, for every path the client sends', () => {
    const paths = [
      '/',
      '/a/b',
      '/a?',
      '/a?x',
      '/a?x=1&y',
      '/a?=v&&',
      '/a?x=1=2',
      '/weather?city=Berlin&token=s3cr3t',
      '/p%20q?k=%26v',
      "/it's?a=b",
      '/a?b?c=d',
    ];
    for (const origin of [
      'http://127.0.0.1:8080',
      'https://api.example.com',
      'http://[::1]:9000',
    ]) {
      for (const path of paths) {
        const url = new URL(origin + path);
        // The client sends pathname + search of the parsed URL (or the same string, unparsed).
        const sent = url.pathname + url.search;
        expect(redactOriginAndPath(url.origin, sent), `${origin}${path}`).toBe(redactUrl(url));
      }
    }
  });

  it('leaves a URL without userinfo or query as it is', () => {
    expect(redactUrl(new URL('http://127.0.0.1:8080/a/b'))).toBe('http://127.0.0.1:8080/a/b');
  });
});

describe('server.address and server.port', () => {
  it('strip IPv6 brackets and default the port by scheme', () => {
    expect(serverOf(new URL('http://[::1]:9000/'))).toEqual({ address: '::1', port: 9000 });
    expect(serverOf(new URL('https://example.com/'))).toEqual({
      address: 'example.com',
      port: 443,
    });
    expect(serverOf(new URL('http://example.com/'))).toEqual({ address: 'example.com', port: 80 });
  });
});

describe('bounded values', () => {
  it('maps unknown methods, error types and status codes to _OTHER', () => {
    expect(normalizeMethod('GET')).toBe('GET');
    expect(normalizeMethod('PURGE')).toBe('_OTHER');
    expect(boundErrorType('503')).toBe('503');
    expect(boundErrorType('ECONNRESET')).toBe('ECONNRESET');
    expect(boundErrorType('timeout')).toBe('timeout');
    expect(boundErrorType('invalid_client')).toBe('invalid_client');
    expect(boundErrorType('599')).toBe('_OTHER');
    expect(boundErrorType('ESOMETHINGNEW')).toBe('_OTHER');
    expect(boundErrorType(undefined)).toBeUndefined();
    expect(boundStatusCode(200)).toBe('200');
    expect(boundStatusCode(299)).toBe('_OTHER');
    expect(boundStatusCode(999)).toBe('_OTHER');
  });
});

describe('content negotiation', () => {
  it('serves OpenMetrics only when Accept prefers it (or ties with text)', () => {
    expect(negotiateFormat(undefined)).toBe('text');
    expect(negotiateFormat('*/*')).toBe('text');
    expect(negotiateFormat('text/plain;version=0.0.4')).toBe('text');
    expect(negotiateFormat('application/openmetrics-text; version=1.0.0; charset=utf-8')).toBe(
      'openmetrics',
    );
    expect(
      negotiateFormat(
        'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      ),
    ).toBe('openmetrics');
    expect(negotiateFormat('application/openmetrics-text;q=0.3,text/plain;q=0.9')).toBe('text');
    expect(negotiateFormat('application/openmetrics-text;q=0')).toBe('text');
  });
});

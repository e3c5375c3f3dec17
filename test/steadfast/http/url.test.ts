import { describe, expect, it } from 'vitest';
import { isPlainAbsolutePath } from '../../../packages/steadfast/src/http/url.js';

const BASE = 'http://127.0.0.1:8080/api/v1/';

/** What the client would send for `target` if it always parsed: WHATWG resolution. */
const resolved = (target: string) => {
  const url = new URL(target, BASE);
  return url.origin + url.pathname + url.search;
};

describe('the parse-free path for "/path?query" inputs', () => {
  it.each([
    '/',
    '/x',
    '/users/42',
    '/a/b.c/d..e/',
    '/search?q=a+b&page=2',
    '/x?redirect=/y/z?w',
    '/pct/%20encoded%2F',
    "/it's",
    '/~user/_/-/!$&()*+,;=:@',
  ])('is taken for %j, and resolution would give the same URL', (target) => {
    expect(isPlainAbsolutePath(target)).toBe(true);
    expect(new URL(BASE).origin + target).toBe(resolved(target));
  });

  it.each([
    'x',
    './x',
    '//evil.example/x',
    '/a/../b',
    '/a/./b',
    '/..',
    '/a/%2e%2e/b',
    '/a/%2E/b',
    '/x?',
    '/x#frag',
    '/x y',
    '/é',
    "/x?a='b'",
    '/x\\y',
    '/x?a=<b>',
    'http://other.example/x',
  ])('is not taken for %j', (target) => {
    expect(isPlainAbsolutePath(target)).toBe(false);
  });

  it('never disagrees with WHATWG resolution over 20 000 random paths', () => {
    const alphabet = '/abz09.%2eE?#&=+\' \\~!$()*,;:@-_é<>`{}|^"[]';
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    let taken = 0;
    for (let i = 0; i < 20_000; i++) {
      let target = '/';
      const length = 1 + Math.floor(random() * 12);
      for (let j = 0; j < length; j++) target += alphabet[Math.floor(random() * alphabet.length)];
      if (!isPlainAbsolutePath(target)) continue;
      taken++;
      expect(new URL(BASE).origin + target, target).toBe(resolved(target));
    }
    expect(taken).toBeGreaterThan(500);
  });
});

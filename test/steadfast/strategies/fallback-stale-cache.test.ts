import { describe, expect, it } from 'vitest';
import {
  StaleCache,
  type StaleEntry,
} from '../../../packages/steadfast/src/strategies/fallback/stale-cache.js';

const MINUTE = 60_000;

/** An entry of `bytes` bytes that arrived at `receivedAt`. */
function entry(bytes: number, receivedAt = 0): StaleEntry {
  return {
    status: 200,
    statusText: 'OK',
    headers: {},
    body: new Uint8Array(bytes),
    receivedAt,
    bytes,
    parsed: false,
  };
}

const limits = { maxEntries: 3, maxEntryBytes: 100, maxTotalBytes: 250 };

describe('the stale cache', () => {
  it('counts its entries and their bytes', () => {
    const cache = new StaleCache(limits);
    cache.set('a', entry(10), 0, MINUTE);
    cache.set('b', entry(20), 0, MINUTE);
    expect([cache.size, cache.bytes]).toEqual([2, 30]);
    cache.set('a', entry(40, 1), 1, MINUTE); // replaced: counted once
    expect([cache.size, cache.bytes]).toEqual([2, 60]);
    cache.delete('b');
    expect([cache.size, cache.bytes]).toEqual([1, 40]);
    cache.clear();
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });

  it('refuses an entry larger than maxEntryBytes, and keeps what it had', () => {
    const cache = new StaleCache(limits);
    cache.set('a', entry(10), 0, MINUTE);
    expect(cache.set('a', entry(101, 1), 1, MINUTE)).toBe(false);
    expect(cache.get('a', 1, MINUTE)?.bytes).toBe(10);
  });

  it('past maxEntries, drops the least recently used: stored or served', () => {
    const cache = new StaleCache(limits);
    for (const key of ['a', 'b', 'c']) cache.set(key, entry(1), 0, MINUTE);
    cache.get('a', 0, MINUTE); // a is used: b is the least recently used now
    cache.set('d', entry(1), 0, MINUTE);
    expect(cache.size).toBe(3);
    expect(cache.get('b', 0, MINUTE)).toBeUndefined();
    for (const key of ['a', 'c', 'd']) expect(cache.get(key, 0, MINUTE), key).toBeDefined();
  });

  it('past maxTotalBytes, drops as many least recently used entries as it takes', () => {
    const cache = new StaleCache({ ...limits, maxEntries: 100 });
    for (const key of ['a', 'b', 'c']) cache.set(key, entry(80), 0, MINUTE); // 240 of 250
    cache.set('d', entry(100), 0, MINUTE); // needs 90 more than there is: a and b go
    expect([cache.size, cache.bytes]).toEqual([2, 180]);
    expect(cache.get('a', 0, MINUTE)).toBeUndefined();
    expect(cache.get('b', 0, MINUTE)).toBeUndefined();
  });

  it('never serves an entry older than the age limit, and drops it', () => {
    const cache = new StaleCache(limits);
    cache.set('a', entry(10, 1000), 1000, MINUTE);
    expect(cache.get('a', 1000 + MINUTE, MINUTE)).toBeDefined();
    expect(cache.get('a', 1001 + MINUTE, MINUTE)).toBeUndefined();
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });

  it('drops expired entries at the front when it stores, before anything fresh', () => {
    const cache = new StaleCache(limits);
    cache.set('old', entry(10, 0), 0, MINUTE);
    cache.set('new', entry(10, MINUTE), MINUTE, MINUTE);
    cache.set('newer', entry(10, 2 * MINUTE), 2 * MINUTE, MINUTE);
    expect(cache.size).toBe(2); // `old` was past the age limit
    expect(cache.get('new', 2 * MINUTE, MINUTE)).toBeDefined();
  });

  it('keeps the answer that arrived last when two calls finish reading out of order', () => {
    const cache = new StaleCache(limits);
    cache.set('a', entry(10, 200), 300, MINUTE); // arrived at 200, read by 300
    expect(cache.set('a', entry(20, 100), 400, MINUTE)).toBe(false); // arrived earlier
    expect(cache.get('a', 400, MINUTE)?.receivedAt).toBe(200);
  });
});

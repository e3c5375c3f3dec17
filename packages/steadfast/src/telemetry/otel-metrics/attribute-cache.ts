import type { Attributes } from '@opentelemetry/api';

type Level<V> = Map<unknown, V>;

/**
 * The attribute objects one recording site has built, found by up to four bounded keys
 * (e.g. method, origin, status, error type) with `Map` lookups only: an observation builds
 * no attribute object and no key string, and the SDK gets the same frozen object each time.
 * Keys must come from a bounded set (normalized values, configured origins, closed
 * vocabularies), so the cache stays as small as the vocabulary.
 */
export class AttributeCache {
  readonly #root: Level<Level<Level<Level<Attributes>>>> = new Map();

  get(a: unknown, b?: unknown, c?: unknown, d?: unknown): Attributes | undefined {
    return this.#root.get(a)?.get(b)?.get(c)?.get(d);
  }

  /** Remember `attributes` (frozen) under the keys, and return it. */
  add(attributes: Attributes, a: unknown, b?: unknown, c?: unknown, d?: unknown): Attributes {
    const frozen = Object.freeze(attributes);
    const l1 = childOf(this.#root, a);
    const l2 = childOf(l1, b);
    const l3 = childOf(l2, c);
    l3.set(d, frozen);
    return frozen;
  }
}

function childOf<V>(level: Level<Level<V>>, key: unknown): Level<V> {
  let child = level.get(key);
  if (!child) {
    child = new Map();
    level.set(key, child);
  }
  return child;
}

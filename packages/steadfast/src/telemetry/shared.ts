import type { Disposable } from '../pipeline/event.js';

interface Entry {
  refs: number;
  readonly subscriptions: Disposable[];
}

const byScope = new WeakMap<object, Map<object, Entry>>();

/**
 * Subscribe `source` at most once per `scope` (e.g. a token manager's events once per
 * metrics registry), however many clients ask. Returns a handle; the subscriptions are
 * disposed when the last client releases it.
 */
export function acquireShared(
  scope: object,
  source: object,
  subscribe: () => Disposable[],
): Disposable {
  let entries = byScope.get(scope);
  if (!entries) {
    entries = new Map();
    byScope.set(scope, entries);
  }
  let entry = entries.get(source);
  if (!entry) {
    entry = { refs: 0, subscriptions: subscribe() };
    entries.set(source, entry);
  }
  entry.refs++;
  const owned = entry;
  const map = entries;
  let released = false;
  return {
    dispose() {
      if (released) return;
      released = true;
      owned.refs--;
      if (owned.refs === 0) {
        for (const s of owned.subscriptions) s.dispose();
        map.delete(source);
      }
    },
  };
}

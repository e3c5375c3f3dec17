/**
 * The entries serve-stale answers from: the last good response per cache key, bounded by
 * entries, by bytes per entry and by bytes in all. A `Map` kept in order of use (the first
 * key is the least recently used): storing or serving an entry moves it last, and room is
 * made from the front. No timer: entries older than the age limit are dropped when they are
 * met — looked up, or at the front when something is stored (at most once a second).
 */

/** One stored response: everything needed to answer with it again. */
export interface StaleEntry {
  readonly status: number;
  readonly statusText: string | undefined;
  /** Lower-case names; hop-by-hop and secret-bearing headers already left out. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Uint8Array;
  /** `performance.now()` when the response's headers arrived: its age counts from there. */
  readonly receivedAt: number;
  /** What the entry counts against the bounds: the body and the headers' names and values. */
  readonly bytes: number;
  /**
   * True when the caller's `json()` parsed the body. A JSON body read any other way (as text,
   * as `getJson()` does) is parsed once before it is served again.
   */
  readonly parsed: boolean;
}

/** Expired entries are looked for at most this often when entries are stored (1 s). */
const SWEEP_INTERVAL_MS = 1000;

export interface StaleCacheLimits {
  readonly maxEntries: number;
  readonly maxEntryBytes: number;
  readonly maxTotalBytes: number;
}

export class StaleCache {
  readonly #limits: StaleCacheLimits;
  readonly #entries = new Map<string, StaleEntry>();
  #bytes = 0;
  /** When expired entries were last swept from the front. */
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(limits: StaleCacheLimits) {
    this.#limits = limits;
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes the entries held now count (bodies and headers). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Keep `entry` for `key`, unless it is larger than an entry may be or an answer that
   * arrived later is already there. Makes room by dropping the least recently used entries,
   * those older than `maxAgeMs` first. False when it was not kept.
   */
  set(key: string, entry: StaleEntry, now: number, maxAgeMs: number): boolean {
    if (entry.bytes > this.#limits.maxEntryBytes) return false;
    const current = this.#entries.get(key);
    if (current !== undefined) {
      if (current.receivedAt > entry.receivedAt) return false;
      this.delete(key);
    }
    if (now - this.#sweptAt >= SWEEP_INTERVAL_MS) this.#dropExpired(now, maxAgeMs);
    const { maxEntries, maxTotalBytes } = this.#limits;
    while (
      this.#entries.size > 0 &&
      (this.#entries.size >= maxEntries || this.#bytes + entry.bytes > maxTotalBytes)
    ) {
      this.delete(this.#entries.keys().next().value as string);
    }
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    return true;
  }

  /** The entry for `key` if it is at most `maxAgeMs` old (it becomes the most recently used). */
  get(key: string, now: number, maxAgeMs: number): StaleEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (now - entry.receivedAt > maxAgeMs) {
      this.#bytes -= entry.bytes;
      return undefined;
    }
    this.#entries.set(key, entry);
    return entry;
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /** Drop expired entries from the front, where the least recently used are. */
  #dropExpired(now: number, maxAgeMs: number): void {
    this.#sweptAt = now;
    for (const [key, entry] of this.#entries) {
      if (now - entry.receivedAt <= maxAgeMs) return;
      this.delete(key);
    }
  }
}

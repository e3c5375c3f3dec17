import type { CooldownSource } from '../../pipeline/events.js';
import type { CooldownNotice, CooldownStore } from './store.js';

/** Pauses kept before the ended ones are swept. */
const MAX_PAUSES = 10_000;

/**
 * Cooldowns held in this process: every client of the process using the same namespace
 * shares them (the default when no shared store is given).
 */
class MemoryCooldownStore implements CooldownStore {
  readonly kind = 'memory';
  readonly operationTimeoutMs = Number.POSITIVE_INFINITY;
  /** `namespace \n scope` → end of the pause (performance.now() clock). */
  readonly #until = new Map<string, number>();
  /** `namespace \n scope` → end of the probe claim. */
  readonly #probes = new Map<string, number>();
  readonly #watchers = new Map<string, Set<(notice: CooldownNotice) => void>>();

  async pause(namespace: string, scope: string, ms: number, source: CooldownSource): Promise<void> {
    const id = `${namespace}\n${scope}`;
    const now = performance.now();
    if ((this.#until.get(id) ?? 0) >= now + ms) return;
    if (this.#until.size >= MAX_PAUSES) this.#forgetEnded(now);
    this.#until.set(id, now + ms);
    this.#probes.delete(id);
    this.#tell(namespace, { scope, change: 'started', remainingMs: ms, source });
  }

  async claimProbe(
    namespace: string,
    scope: string,
    _owner: string,
    leaseMs: number,
  ): Promise<boolean> {
    const id = `${namespace}\n${scope}`;
    const now = performance.now();
    if ((this.#probes.get(id) ?? 0) > now) return false;
    this.#probes.set(id, now + leaseMs);
    return true;
  }

  async resume(namespace: string, scope: string): Promise<void> {
    const id = `${namespace}\n${scope}`;
    this.#until.delete(id);
    this.#probes.delete(id);
    this.#tell(namespace, { scope, change: 'ended', remainingMs: 0, source: 'fleet' });
  }

  watch(namespace: string, listener: (notice: CooldownNotice) => void): () => void {
    let set = this.#watchers.get(namespace);
    if (!set) {
      set = new Set();
      this.#watchers.set(namespace, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#watchers.delete(namespace);
    };
  }

  /** Drop the pauses and probe claims that are over (bounded memory, whatever the scopes). */
  #forgetEnded(now: number): void {
    for (const [id, until] of this.#until) if (until <= now) this.#until.delete(id);
    for (const [id, until] of this.#probes) if (until <= now) this.#probes.delete(id);
  }

  #tell(namespace: string, notice: CooldownNotice): void {
    for (const listener of this.#watchers.get(namespace) ?? []) listener(notice);
  }

  attach(): void {}
  async detach(): Promise<void> {}
}

/** A store of cooldowns for one process. */
export function memoryCooldownStore(): CooldownStore {
  return new MemoryCooldownStore();
}

/** The store cooldowns use when none is given and `auth` has no shared one: one per process. */
export const processCooldownStore: CooldownStore = memoryCooldownStore();

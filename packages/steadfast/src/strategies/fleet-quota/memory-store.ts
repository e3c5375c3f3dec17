import { gcraLease } from './gcra.js';
import {
  FLEET_MEMBER_TTL_MS,
  type QuotaLease,
  type QuotaLeaseRequest,
  type QuotaStore,
} from './store.js';

/**
 * Fleet quotas held in this process: every client of the process using the same quota key
 * shares it. The default store of a quota when no shared store is given; the instance is
 * then its whole fleet.
 */
class MemoryQuotaStore implements QuotaStore {
  readonly kind = 'memory';
  readonly operationTimeoutMs = Number.POSITIVE_INFINITY;
  readonly #tat = new Map<string, number>();
  readonly #members = new Map<string, Map<string, number>>();

  async lease(key: string, request: QuotaLeaseRequest): Promise<QuotaLease> {
    return this.leaseNow(key, request, performance.now());
  }

  /** The lease at `now`, synchronously (the fleet quota's local share uses it directly). */
  leaseNow(key: string, request: QuotaLeaseRequest, now: number): QuotaLease {
    const { lease, tat } = gcraLease(this.#tat.get(key) ?? now, now, request);
    this.#tat.set(key, tat);
    let members = this.#members.get(key);
    if (!members) {
      members = new Map();
      this.#members.set(key, members);
    }
    members.set(request.instance, now);
    for (const [instance, seen] of members) {
      if (now - seen > FLEET_MEMBER_TTL_MS) members.delete(instance);
    }
    return { ...lease, fleetSize: members.size };
  }

  /** Start quota `key` no earlier than `tat` (the local share continues where leases ended). */
  startAt(key: string, tat: number): void {
    this.#tat.set(key, Math.max(tat, this.#tat.get(key) ?? 0));
  }

  attach(): void {}
  async detach(): Promise<void> {}
}

export type { MemoryQuotaStore };

/** A store of fleet quotas for one process (tests, or a single instance). */
export function memoryQuotaStore(): MemoryQuotaStore {
  return new MemoryQuotaStore();
}

/** The store a quota uses when none is given and `auth` has no shared one: one per process. */
export const processQuotaStore: MemoryQuotaStore = memoryQuotaStore();

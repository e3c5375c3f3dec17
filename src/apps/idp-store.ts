import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

interface StoredEntry {
  readonly payload: AdapterPayload;
  /** Epoch ms after which the entry is gone; undefined = no expiry. */
  readonly expiresAtMs: number | undefined;
}

/**
 * In-memory storage for one IdP instance (oidc-provider's `adapter` contract).
 *
 * oidc-provider ships a process-wide memory adapter; this one is per IdP, so several IdPs can
 * live in one test process, and the IdP can enumerate and revoke every issued token.
 */
export class IdpStore {
  readonly #models = new Map<string, Map<string, StoredEntry>>();

  /** The factory to pass as oidc-provider's `adapter` option. */
  readonly adapterFactory: AdapterFactory = (modelName) => this.#adapterFor(modelName);

  /** Ids of the live (unexpired) entries of one model, e.g. `ClientCredentials`. */
  liveIds(modelName: string): string[] {
    const entries = this.#models.get(modelName);
    if (!entries) return [];
    const now = Date.now();
    const ids: string[] = [];
    for (const [id, entry] of entries) {
      if (entry.expiresAtMs === undefined || entry.expiresAtMs > now) ids.push(id);
      else entries.delete(id);
    }
    return ids;
  }

  #entries(modelName: string): Map<string, StoredEntry> {
    let entries = this.#models.get(modelName);
    if (!entries) {
      entries = new Map();
      this.#models.set(modelName, entries);
    }
    return entries;
  }

  #adapterFor(modelName: string): Adapter {
    const entries = this.#entries(modelName);
    const read = (id: string): AdapterPayload | undefined => {
      const entry = entries.get(id);
      if (!entry) return undefined;
      if (entry.expiresAtMs !== undefined && entry.expiresAtMs <= Date.now()) {
        entries.delete(id);
        return undefined;
      }
      return entry.payload;
    };
    const findBy = (field: 'userCode' | 'uid', value: string): AdapterPayload | undefined => {
      for (const id of entries.keys()) {
        const payload = read(id);
        if (payload?.[field] === value) return payload;
      }
      return undefined;
    };
    return {
      async upsert(id, payload, expiresInSeconds) {
        const expiresAtMs =
          expiresInSeconds === undefined ? undefined : Date.now() + expiresInSeconds * 1000;
        entries.set(id, { payload, expiresAtMs });
      },
      async find(id) {
        return read(id);
      },
      async findByUserCode(userCode) {
        return findBy('userCode', userCode);
      },
      async findByUid(uid) {
        return findBy('uid', uid);
      },
      async consume(id) {
        const entry = entries.get(id);
        if (entry) {
          entries.set(id, {
            ...entry,
            payload: { ...entry.payload, consumed: Math.floor(Date.now() / 1000) },
          });
        }
      },
      async destroy(id) {
        entries.delete(id);
      },
      async revokeByGrantId(grantId) {
        for (const [id, entry] of entries) {
          if (entry.payload.grantId === grantId) entries.delete(id);
        }
      },
    };
  }
}

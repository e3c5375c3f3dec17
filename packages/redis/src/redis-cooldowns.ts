import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { CooldownNotice, CooldownSource } from 'steadfast';
import { PAUSE_SCRIPT, RESUME_SCRIPT } from './cooldown-scripts.js';

interface CooldownCommands {
  steadfastCooldownPause(
    cool: string,
    probe: string,
    source: string,
    ms: number,
    channel: string,
    notice: string,
  ): Promise<number>;
  steadfastCooldownResume(
    cool: string,
    probe: string,
    channel: string,
    notice: string,
  ): Promise<number>;
}

type CooldownClient = (Redis | Cluster) & CooldownCommands;

/** Every source a notice may carry (a compile error here when the SDK adds one). */
const SOURCES: Record<CooldownSource, true> = {
  retry_after: true,
  ratelimit: true,
  x_ratelimit: true,
  fleet: true,
};
const KNOWN_SOURCES = new Set<string>(Object.keys(SOURCES));

/**
 * A notice from the channel, or `undefined` for anything malformed: notices are hints, and
 * anyone who can publish on the channel can send one.
 */
export function parseCooldownNotice(message: string): CooldownNotice | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { scope, change, remainingMs, source } = value as Record<string, unknown>;
  if (typeof scope !== 'string' || (change !== 'started' && change !== 'ended')) return undefined;
  if (typeof remainingMs !== 'number' || !Number.isFinite(remainingMs) || remainingMs < 0) {
    return undefined;
  }
  if (typeof source !== 'string' || !KNOWN_SOURCES.has(source)) return undefined;
  return { scope, change, remainingMs, source: source as CooldownSource };
}

interface Watched {
  readonly listeners: Set<(notice: CooldownNotice) => void>;
  readonly connection: Redis | Cluster;
}

/**
 * The cooldown half of the Redis store: keys `cool:{namespace|h}` and `probe:{namespace|h}`,
 * where h is a hash of the scope (scopes are arbitrary strings, such as origins), and one
 * notice channel `cooldown:{namespace}` per namespace. The caller waits for a ready
 * connection before each operation.
 */
export class RedisCooldowns {
  readonly #client: CooldownClient;
  readonly #prefix: string;
  readonly #subscriber: () => Redis | Cluster;
  readonly #watched = new Map<string, Watched>();

  /** `subscriber` opens (or returns) the store's subscriber connection. */
  constructor(client: Redis | Cluster, prefix: string, subscriber: () => Redis | Cluster) {
    const scripted = client as CooldownClient;
    if (typeof scripted.steadfastCooldownPause !== 'function') {
      client.defineCommand('steadfastCooldownPause', { numberOfKeys: 2, lua: PAUSE_SCRIPT });
      client.defineCommand('steadfastCooldownResume', { numberOfKeys: 2, lua: RESUME_SCRIPT });
    }
    this.#client = scripted;
    this.#prefix = prefix;
    this.#subscriber = subscriber;
  }

  #keys(namespace: string, scope: string) {
    const tag = `{${namespace}|${createHash('sha256').update(scope).digest('hex').slice(0, 16)}}`;
    return { cool: `${this.#prefix}cool:${tag}`, probe: `${this.#prefix}probe:${tag}` };
  }

  #channel(namespace: string): string {
    return `${this.#prefix}cooldown:{${namespace}}`;
  }

  async pause(namespace: string, scope: string, ms: number, source: CooldownSource): Promise<void> {
    const k = this.#keys(namespace, scope);
    const pauseMs = Math.max(1, Math.ceil(ms));
    const notice: CooldownNotice = { scope, change: 'started', remainingMs: pauseMs, source };
    await this.#client.steadfastCooldownPause(
      k.cool,
      k.probe,
      source,
      pauseMs,
      this.#channel(namespace),
      JSON.stringify(notice),
    );
  }

  async claimProbe(
    namespace: string,
    scope: string,
    owner: string,
    leaseMs: number,
  ): Promise<boolean> {
    const { probe } = this.#keys(namespace, scope);
    const reply = await this.#client.set(probe, owner, 'PX', Math.max(1, Math.ceil(leaseMs)), 'NX');
    return reply === 'OK';
  }

  async resume(namespace: string, scope: string): Promise<void> {
    const k = this.#keys(namespace, scope);
    const notice: CooldownNotice = { scope, change: 'ended', remainingMs: 0, source: 'fleet' };
    await this.#client.steadfastCooldownResume(
      k.cool,
      k.probe,
      this.#channel(namespace),
      JSON.stringify(notice),
    );
  }

  watch(namespace: string, listener: (notice: CooldownNotice) => void): () => void {
    const channel = this.#channel(namespace);
    let watched = this.#watched.get(channel);
    if (!watched) {
      watched = { listeners: new Set(), connection: this.#subscriber() };
      this.#watched.set(channel, watched);
      watched.connection.subscribe(channel).catch(() => {}); // a hint only
    }
    const entry = watched;
    entry.listeners.add(listener);
    return () => {
      if (!entry.listeners.delete(listener) || entry.listeners.size > 0) return;
      if (this.#watched.get(channel) !== entry) return; // cleared by close()
      this.#watched.delete(channel);
      entry.connection.unsubscribe(channel).catch(() => {});
    };
  }

  /** A message from the subscriber connection; ignored unless it is a valid notice of a watched namespace. */
  deliver(channel: string, message: string): void {
    const watched = this.#watched.get(channel);
    if (!watched) return;
    const notice = parseCooldownNotice(message);
    if (!notice) return;
    for (const listener of [...watched.listeners]) {
      try {
        listener(notice);
      } catch {
        // A failing listener must not reach ioredis's reply parser, nor starve the others.
      }
    }
  }

  /** Forget every watcher (the store closed its subscriber connection). */
  close(): void {
    this.#watched.clear();
  }
}

import { afterEach, vi } from 'vitest';
import { TokenEndpointError } from '../../../../packages/steadfast/src/auth/errors.js';
import { TokenEvents } from '../../../../packages/steadfast/src/auth/events.js';
import { tokenFingerprint } from '../../../../packages/steadfast/src/auth/fingerprint.js';
import { memoryTokenStore } from '../../../../packages/steadfast/src/auth/store/memory.js';
import type {
  StoredToken,
  TokenStore,
} from '../../../../packages/steadfast/src/auth/store/types.js';
import type {
  Clock,
  Timer,
  TokenManagerConfig,
} from '../../../../packages/steadfast/src/auth/token-manager/index.js';
import { TokenManager } from '../../../../packages/steadfast/src/auth/token-manager/index.js';
import type { TokenResponse } from '../../../../packages/steadfast/src/auth/token-response.js';
import {
  hashSeed,
  seededRandom,
} from '../../../../packages/steadfast/src/pipeline/seeded-random.js';

/**
 * Let every promise chain that waits on nothing but other promises (and on the store
 * guard's one extra event-loop turn) run to its end. Event-loop turns, not a wait: no time
 * passes on the fake clock.
 */
export async function settle(): Promise<void> {
  for (let turn = 0; turn < 10; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface FakeTimer {
  readonly at: number;
  readonly order: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** A clock that moves only when the test says so; its timers fire in order as it moves. */
export class FakeClock implements Clock {
  #now = 1_000_000;
  readonly #wallAtZero = Date.UTC(2026, 11, 4, 12, 0, 0);
  #timers: FakeTimer[] = [];
  #order = 0;

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#wallAtZero + this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): Timer {
    const timer: FakeTimer = {
      at: this.#now + Math.max(0, delayMs),
      order: this.#order++,
      callback,
      cancelled: false,
    };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers started and neither fired nor cancelled. */
  get pendingTimers(): number {
    return this.#timers.filter((timer) => !timer.cancelled).length;
  }

  /** Move `ms` forward: each due timer fires at its own time, and what it starts settles. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      this.#timers = this.#timers.filter((timer) => !timer.cancelled);
      const due = this.#timers
        .filter((timer) => timer.at <= target)
        .sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (due === undefined) break;
      this.#timers.splice(this.#timers.indexOf(due), 1);
      this.#now = due.at;
      due.callback();
    }
    this.#now = target;
    await settle();
  }
}

/**
 * The token endpoint, as the manager sees it: a counting async function. Each answer is a
 * new token (`token-1`, `token-2`, …). `hold()` keeps the answers back until `release()`;
 * `failNext()` makes the next requests fail as the endpoint would.
 */
export class TokenFunction {
  /** Token requests made so far. */
  requests = 0;
  lifetimeMs = 3_600_000; // 1 h
  #held: (() => void)[] | undefined;
  #failures: TokenEndpointError[] = [];

  readonly fetchToken = async (): Promise<TokenResponse> => {
    this.requests += 1;
    const number = this.requests;
    if (this.#held) await new Promise<void>((resolve) => this.#held!.push(resolve));
    const failure = this.#failures.shift();
    if (failure) throw failure;
    return {
      accessToken: `token-${number}`,
      tokenType: 'Bearer',
      lifetimeMs: this.lifetimeMs,
      defaultedLifetime: false,
    };
  };

  /** Answers wait until {@link release}. */
  hold(): void {
    this.#held ??= [];
  }

  /** Let the held answers go, and answer at once from now on. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const answer of held) answer();
  }

  /** The next `count` requests fail with `error` (default: a 503). */
  failNext(count = 1, error = endpointFailure('503')): void {
    for (let i = 0; i < count; i++) this.#failures.push(error);
  }
}

export function endpointFailure(
  errorType: string,
  kind: 'retryable' | 'configuration' = 'retryable',
): TokenEndpointError {
  return new TokenEndpointError({
    errorType,
    kind,
    detail: `the token endpoint answered ${errorType}`,
  });
}

/** The fingerprint of the `n`th token the token function handed out. */
export const fingerprintOf = (n: number) => tokenFingerprint(`token-${n}`);

type Operation =
  | 'read'
  | 'acquire'
  | 'publish'
  | 'invalidate'
  | 'release'
  | 'backoff'
  | 'offer'
  | 'ping';

/**
 * One instance's connection to a shared store: the real store behind it, made unreachable
 * on demand. `down('throw')` is a refused connection (every operation fails at once);
 * `down('hang')` a frozen server (operations never answer; the manager's guard gives up
 * after `operationTimeoutMs`). While down, announcements are lost, as with a dead
 * subscription. `holdReplies()` lets operations run on the store but keeps their answers
 * in flight until `deliverReplies()`. Counts the operations the manager sent, up or down.
 */
export class Connection implements TokenStore {
  readonly kind = 'memory';
  readonly operationTimeoutMs = 200;
  readonly #store: TokenStore;
  #state: 'up' | 'throw' | 'hang' = 'up';
  #heldReplies: (() => void)[] | undefined;
  #holding: Operation | undefined;
  readonly #reconnectListeners = new Set<() => void>();
  readonly calls: Record<Operation, number> = {
    read: 0,
    acquire: 0,
    publish: 0,
    invalidate: 0,
    release: 0,
    backoff: 0,
    offer: 0,
    ping: 0,
  };

  constructor(store: TokenStore) {
    this.#store = store;
  }

  /** Operations the manager sent, all kinds together. */
  get operations(): number {
    return Object.values(this.calls).reduce((sum, count) => sum + count, 0);
  }

  down(how: 'throw' | 'hang'): void {
    this.#state = how;
  }

  /** The store answers again; `reconnected` also tells the manager, as a client's `ready` does. */
  up({ reconnected = false } = {}): void {
    this.#state = 'up';
    if (reconnected) for (const listener of this.#reconnectListeners) listener();
  }

  /** Answers to `operation` stay in flight (it has run on the store) until {@link deliverReplies}. */
  holdReplies(operation: Operation): void {
    this.#holding = operation;
    this.#heldReplies ??= [];
  }

  deliverReplies(): void {
    const held = this.#heldReplies ?? [];
    this.#heldReplies = undefined;
    this.#holding = undefined;
    for (const deliver of held) deliver();
  }

  async #call<T>(operation: Operation, run: () => Promise<T>): Promise<T> {
    this.calls[operation] += 1;
    if (this.#state === 'throw') throw new Error('connect ECONNREFUSED');
    if (this.#state === 'hang') return new Promise<T>(() => {});
    const answer = await run();
    const held = this.#holding === operation ? this.#heldReplies : undefined;
    if (held) await new Promise<void>((resolve) => held.push(resolve));
    return answer;
  }

  read(key: string) {
    return this.#call('read', () => this.#store.read(key));
  }
  acquire(key: string, owner: string, leaseMs: number) {
    return this.#call('acquire', () => this.#store.acquire(key, owner, leaseMs));
  }
  publish(key: string, owner: string, fence: number, token: StoredToken, ttlMs: number) {
    return this.#call('publish', () => this.#store.publish(key, owner, fence, token, ttlMs));
  }
  invalidate(key: string, fingerprint: string) {
    return this.#call('invalidate', () => this.#store.invalidate(key, fingerprint));
  }
  release(key: string, owner: string) {
    return this.#call('release', () => this.#store.release(key, owner));
  }
  backoff(...args: Parameters<TokenStore['backoff']>) {
    return this.#call('backoff', () => this.#store.backoff(...args));
  }
  offer(key: string, token: StoredToken, ttlMs: number) {
    return this.#call('offer', () => this.#store.offer(key, token, ttlMs));
  }
  ping() {
    return this.#call('ping', () => this.#store.ping());
  }
  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }
  subscribe(key: string, listener: (fingerprint: string) => void): () => void {
    return this.#store.subscribe(key, (fingerprint) => {
      if (this.#state === 'up') listener(fingerprint);
    });
  }
  attach(): void {}
  async detach(): Promise<void> {}
}

export interface Instance {
  readonly manager: TokenManager;
  readonly connection: Connection;
  readonly events: TokenEvents;
}

const fleets: Instance[][] = [];

afterEach(() => {
  for (const instances of fleets.splice(0)) for (const { manager } of instances) manager.close();
  vi.restoreAllMocks();
});

/**
 * A fleet on one fake clock: one real in-memory store, one token function, and instances
 * (token managers) that each reach the store through their own {@link Connection}. The
 * memory store measures TTLs on `performance.now()`, which follows the fake clock here.
 */
export function createFleet() {
  const clock = new FakeClock();
  vi.spyOn(performance, 'now').mockImplementation(() => clock.now());
  const store = memoryTokenStore();
  const idp = new TokenFunction();
  const instances: Instance[] = [];

  const instance = (settings: Partial<TokenManagerConfig> = {}): Instance => {
    const connection = new Connection(store);
    const events = new TokenEvents();
    const manager = new TokenManager({
      credential: 'billing',
      key: 'billing-key',
      store: connection,
      events,
      fetchToken: idp.fetchToken,
      timing: {
        hardSkewMs: 30_000,
        hardSkewRatio: 0.1,
        softWindowRatio: 0.2,
        minSoftWindowMs: 60_000,
        maxSoftWindowMs: 600_000,
      },
      leaseMs: 12_000,
      backoffMinMs: 1000,
      backoffMaxMs: 60_000,
      configurationErrorBackoffMs: 300_000,
      storeBreakMs: 5000,
      clock,
      random: seededRandom(hashSeed('token-manager', instances.length)),
      ...settings,
    });
    const created = { manager, connection, events };
    instances.push(created);
    return created;
  };

  fleets.push(instances);
  return { clock, store, idp, instance };
}

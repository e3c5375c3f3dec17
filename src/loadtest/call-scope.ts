import { AsyncLocalStorage } from 'node:async_hooks';
import { hashSeed, type RandomSource, seededRandom } from 'steadfast';

/** The load-test call being made: what its attempts need to be reproducible. */
export interface CallScope {
  /** The call's key: its index in the run. */
  readonly key: string;
  /** When the call was due (ms since the run's start). */
  readonly intendedStartMs: number;
  /** Retry delays (backoff, `Retry-After`) the call has been told to wait so far. */
  waitedMs: number;
  /** Its random streams, by purpose: made on the call's first draw. */
  streams: Map<string, RandomSource> | undefined;
}

const calls = new AsyncLocalStorage<CallScope>();

/** Run `fn` (one load-test call, all its attempts) in the scope of that call; `fn` gets it. */
export function withCall<T>(key: string, intendedStartMs: number, fn: (call: CallScope) => T): T {
  const call: CallScope = { key, intendedStartMs, waitedMs: 0, streams: undefined };
  return calls.run(call, () => fn(call));
}

/**
 * Count a retry delay that the running call was told to wait: the attempts after it belong to
 * the phase at the call's intended start plus the delays waited. Returns that call, if any.
 */
export function addWaited(delayMs: number): CallScope | undefined {
  const call = calls.getStore();
  if (call !== undefined) call.waitedMs += delayMs;
  return call;
}

/**
 * A random source for the SDK (retry jitter, chaos draws) that draws, inside a call run by
 * {@link withCall}, from a stream of that call alone, seeded by (seed, purpose, call key).
 * A call's attempts run one after another, so its n-th draw is the same in every run with the
 * same seed, whatever other calls do meanwhile. Outside a call: one shared seeded stream.
 */
export function perCallRandom(seed: number, purpose: string): RandomSource {
  const shared = seededRandom(hashSeed(seed, purpose));
  return () => {
    const call = calls.getStore();
    if (call === undefined) return shared();
    call.streams ??= new Map();
    let stream = call.streams.get(purpose);
    if (stream === undefined) {
      stream = seededRandom(hashSeed(seed, purpose, call.key));
      call.streams.set(purpose, stream);
    }
    return stream();
  };
}

import type { BackoffKind } from '../../config/options.js';

/** Inputs of a backoff computation, fixed per client. */
export interface BackoffSettings {
  readonly kind: BackoffKind;
  readonly jitter: boolean;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly random: () => number;
}

/**
 * Delay before retry number `retry` (1 for the first retry).
 * - constant: base; linear: base × retry; exponential: base × 2^(retry−1).
 * - jitter on exponential is "decorrelated jitter" (AWS Architecture Blog, 2015): a random
 *   value between base and 3 × the previous delay, so retries of many clients spread out
 *   instead of arriving in synchronized waves. On constant/linear, ±25 % around the value.
 * Always capped by `maxDelayMs`.
 */
export function backoffDelay(
  settings: BackoffSettings,
  retry: number,
  previousDelayMs: number,
): number {
  const { kind, jitter, baseDelayMs, maxDelayMs, random } = settings;
  let delay: number;
  if (kind === 'exponential') {
    delay = jitter
      ? baseDelayMs + random() * (Math.max(previousDelayMs, baseDelayMs) * 3 - baseDelayMs)
      : baseDelayMs * 2 ** (retry - 1);
  } else {
    const plain = kind === 'linear' ? baseDelayMs * retry : baseDelayMs;
    delay = jitter ? plain * (0.75 + random() * 0.5) : plain;
  }
  return Math.min(maxDelayMs, delay);
}

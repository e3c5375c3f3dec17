import type { FaultProfile } from './fault-profile.js';
import type { RandomSource } from './seeded-random.js';

/** The fault a request gets, if any. */
export type Fault = 'none' | 'error' | 'unauthorized' | 'rateLimited' | 'reset';

/** One draw picks at most one fault; the rates are shares of all requests. */
export function drawFault(profile: FaultProfile, random: RandomSource): Fault {
  let draw = random();
  const shares: [Fault, number][] = [
    ['reset', profile.resetRate],
    ['rateLimited', profile.rateLimitRate],
    ['unauthorized', profile.unauthorizedRate],
    ['error', profile.errorRate],
  ];
  for (const [fault, share] of shares) {
    if (draw < share) return fault;
    draw -= share;
  }
  return 'none';
}

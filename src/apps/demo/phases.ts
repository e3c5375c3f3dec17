import type { FaultProfile } from '../fault-profile.js';

/** What a phase can do to the world when it starts. */
export interface PhaseControls {
  setProfile(profile: Partial<FaultProfile>): Promise<void>;
  /** Revoke, at the IdP, the token the API saw last: every worker's next call gets a real 401. */
  revokeCurrentToken(): Promise<string>;
}

/** One phase of the demo. */
export interface DemoPhase {
  readonly name: string;
  /** One line the live view shows: what to look for. */
  readonly description: string;
  /** Share of the demo's duration. The shares of all phases add up to 1. */
  readonly share: number;
  /** Runs when the phase starts; resolves a line for the log. */
  enter(controls: PhaseControls): Promise<string>;
}

/** The story: healthy → 5xx and 429 → token revoked → downstream hard down → recovered. */
export const DEMO_PHASES: readonly DemoPhase[] = [
  {
    name: 'healthy',
    description: 'No faults: one token fetch for the whole fleet, no retries.',
    share: 0.16,
    async enter(controls) {
      await controls.setProfile({ name: 'healthy' });
      return 'fault profile: healthy';
    },
  },
  {
    name: '5xx + 429',
    // Each 429 asks for a second's pause, which the fleet keeps together (the cooldown): at
    // 10 % of attempts the API is paused most of the phase, so most calls fail fast, not
    // permitted, rather than waiting more than the demo's 500 ms for the pause to end.
    description:
      '25% 5xx, 5% resets: retries absorb them; 10% 429 (Retry-After: 1): the fleet pauses, calls fail fast.',
    share: 0.22,
    async enter(controls) {
      await controls.setProfile({
        name: '5xx+429',
        errorRate: 0.25,
        rateLimitRate: 0.1,
        retryAfterSeconds: 1,
        resetRate: 0.05,
        latencyMedianMs: 20,
        latencyP99Ms: 250,
      });
      return 'fault profile: 25% 5xx, 10% 429, 5% connection resets, latency p50 20 ms / p99 250 ms';
    },
  },
  {
    name: 'token revoked',
    description: 'The IdP revoked the shared token: a 401 storm, one new token for the fleet.',
    share: 0.18,
    async enter(controls) {
      await controls.setProfile({ name: 'healthy' });
      return await controls.revokeCurrentToken();
    },
  },
  {
    name: 'hard down',
    description: 'The API answers 503 to everything: breakers open, calls fail fast.',
    share: 0.22,
    async enter(controls) {
      await controls.setProfile({ name: 'down', down: true });
      return 'fault profile: hard down (503 to everything)';
    },
  },
  {
    name: 'recovered',
    description: 'Healthy again: breakers half-open, then close; success back to 100%.',
    share: 0.22,
    async enter(controls) {
      await controls.setProfile({ name: 'healthy' });
      return 'fault profile: healthy';
    },
  },
];

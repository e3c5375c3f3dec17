// `promtool check metrics` accepts the toolbox strategies' families (hedging, fallback,
// adaptive concurrency, adaptive throttle) with data in them.
// Needs Debian's `prometheus` package; fails (never skips) without it.
import { describe, it } from 'vitest';
import { expectPromtoolAccepts } from './promtool-families.js';
import {
  ADAPTIVE_BOUNDS,
  emitToolboxEvents,
  THROTTLE_PROBE,
  TOOLBOX_ORIGINS,
  toolboxContext,
} from './toolbox-events.js';

describe('promtool check metrics on the toolbox families', () => {
  it('accepts every one of them, each with samples', async () => {
    await expectPromtoolAccepts(
      {
        origins: TOOLBOX_ORIGINS,
        quotaLimitPerSecond: undefined,
        rateLimiter: false,
        cooldown: false,
        hedging: true,
        fallback: true,
        adaptiveConcurrency: ADAPTIVE_BOUNDS,
        adaptiveThrottle: true,
        throttleProbe: THROTTLE_PROBE,
      },
      (events) => emitToolboxEvents(events, toolboxContext('weather')),
      [
        'steadfast_hedges_sent_total',
        'steadfast_hedges_skipped_total',
        'steadfast_hedged_calls_total',
        'steadfast_hedges_cancelled_total',
        'steadfast_fallbacks_total',
        'steadfast_fallback_stale_age_seconds',
        'steadfast_adaptive_concurrency_limit',
        'steadfast_adaptive_concurrency_limit_bound',
        'steadfast_adaptive_concurrency_limit_changes_total',
        'steadfast_adaptive_concurrency_inflight_calls',
        'steadfast_adaptive_throttle_rejection_probability',
        'steadfast_rate_limit_permits_total',
        'steadfast_rate_limit_rejections_total',
      ],
    );
  });
});

// `promtool check metrics` accepts the admission layers' families with data in them.
// Needs Debian's `prometheus` package; fails (never skips) without it.
import { describe, it } from 'vitest';
import {
  admissionContext,
  emitAdmissionEvents,
  QUOTA_LIMIT_PER_SECOND,
} from './admission-events.js';
import { expectPromtoolAccepts } from './promtool-families.js';

describe('promtool check metrics on the admission families', () => {
  it('accepts every one of them, each with samples', async () => {
    await expectPromtoolAccepts(
      { origins: ['http://127.0.0.1:1'], quotaLimitPerSecond: QUOTA_LIMIT_PER_SECOND },
      (events) => emitAdmissionEvents(events, admissionContext('weather')),
      [
        'steadfast_rate_limit_permits_total',
        'steadfast_rate_limit_wait_seconds',
        'steadfast_rate_limit_rejections_total',
        'steadfast_quota_lease_size',
        'steadfast_quota_store_commands_total',
        'steadfast_quota_fallback_active',
        'steadfast_quota_limit_per_second',
        'steadfast_cooldown_transitions_total',
        'steadfast_cooldown_paused_seconds_total',
        'steadfast_cooldown_active_scopes',
      ],
    );
  });
});

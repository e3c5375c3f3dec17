import { describe, expect, it } from 'vitest';
import { ZERO_COUNTERS } from '../../../src/apps/demo/fleet-metrics.js';
import {
  type FleetFrame,
  fitToWidth,
  renderFrame,
  renderStatusLine,
} from '../../../src/apps/demo/fleet-view.js';
import { renderSummary } from '../../../src/apps/demo/summary.js';

const window = {
  ...ZERO_COUNTERS,
  calls: 100,
  succeeded: 90,
  attempts: 150,
  retriesByReason: { '503': 40, '429': 10 },
};
const frame: FleetFrame = {
  elapsedMs: 42_000,
  totalMs: 90_000,
  phase: { name: 'hard down', number: 4, count: 5, description: 'The API answers 503.' },
  tokenSharing: 'private redis-server',
  window,
  windowMs: 5_000,
  total: { ...window, tokenFetches: 3, tokenInvalidations: { newer_present: 7 } },
  workers: [
    {
      index: 1,
      pid: 101,
      metricsUrl: 'http://127.0.0.1:1/metrics',
      up: true,
      calls: 60,
      tokenFetches: 2,
      breakers: { '127.0.0.1': 'open' },
      storeUp: 1,
    },
    {
      index: 2,
      pid: 102,
      metricsUrl: 'http://127.0.0.1:2/metrics',
      up: false,
      calls: 40,
      tokenFetches: 1,
      breakers: {},
      storeUp: 0,
    },
  ],
  idpTokenRequests: 3,
  apiByStatus: { '200': 90, '503': 60 },
  recentLog: ['phase 4/5 "hard down"'],
};

describe('the live view', () => {
  it('shows rates, ratios, retries by reason, breakers and token fetches across the fleet', () => {
    const text = renderFrame(frame);
    expect(text).toContain('phase 4/5: hard down');
    expect(text).toContain('20.0 calls/s');
    expect(text).toContain('success 90.0%');
    expect(text).toContain('attempts/call 1.50');
    expect(text).toContain('retries by reason: 503:40  429:10');
    expect(text).toContain('token fetches across the fleet: 3 (IdP saw 3 token requests)');
    expect(text).toContain('401s absorbed without a fetch: 7');
    expect(text).toMatch(/#1 pid 101 up .*breaker 127\.0\.0\.1=open {2}store up/);
    expect(text).toMatch(/#2 pid 102 DOWN .*store DOWN/);
  });

  it('has a one-line form for logs, and cuts lines to the terminal width', () => {
    expect(renderStatusLine(frame)).toBe(
      '[42s hard down] 20.0 calls/s, success 90.0%, attempts/call 1.50, breakers open,-, token fetches 3\n',
    );
    expect(fitToWidth('abcdefghij\nshort', 6)).toBe('abcd…\nshort');
  });
});

describe('the summary', () => {
  it('has a row per phase and a total, and says whether every worker exited cleanly', () => {
    const text = renderSummary({
      ok: false,
      interrupted: false,
      tokenSharing: 'private redis-server',
      phases: [
        {
          name: 'healthy',
          counters: { ...ZERO_COUNTERS, calls: 10, succeeded: 10, attempts: 10, tokenFetches: 1 },
          idpTokenRequests: 1,
          durationMs: 15_000,
        },
        {
          name: 'hard down',
          counters: { ...ZERO_COUNTERS, calls: 10, attempts: 30, retriesByReason: { '503': 20 } },
          idpTokenRequests: 0,
          durationMs: 20_000,
        },
      ],
      total: {
        ...ZERO_COUNTERS,
        calls: 20,
        succeeded: 10,
        attempts: 40,
        tokenFetches: 1,
        retriesByReason: { '503': 20 },
      },
      idpTokenRequests: 1,
      apiByStatus: { '200': 10, '503': 30 },
      workers: [
        {
          index: 1,
          pid: 11,
          metricsUrl: 'http://127.0.0.1:1/metrics',
          exit: { code: 0, signal: null },
        },
        {
          index: 2,
          pid: 12,
          metricsUrl: 'http://127.0.0.1:2/metrics',
          exit: { code: null, signal: 'SIGKILL' },
        },
      ],
    });
    expect(text).toMatch(/^healthy\s+15\s+10\s+100\.0%\s+1\.00\s+0\s+1\s+-/m);
    expect(text).toMatch(/^hard down\s+20\s+10\s+0\.0%\s+3\.00\s+0\s+0\s+503:20/m);
    expect(text).toMatch(/^total\s+35\s+20\s+50\.0%\s+2\.00/m);
    expect(text).toContain('worker #1 pid 11 exited cleanly (0)');
    expect(text).toContain('worker #2 pid 12 exited with code null, signal SIGKILL');
    expect(text).toContain('NOT every worker exited cleanly');
  });
});

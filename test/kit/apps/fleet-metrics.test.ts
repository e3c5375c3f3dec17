import { describe, expect, it } from 'vitest';
import { addCounters, countersOf, subtractCounters } from '../../../src/apps/demo/fleet-metrics.js';
import { parsePrometheusText, sumBy, sumOf } from '../../../src/apps/demo/prometheus-text.js';

const EXPOSITION = `# HELP steadfast_calls_total Logical calls.
# TYPE steadfast_calls_total counter
steadfast_calls_total{client="weather",kind="successful_without_retry"} 90
steadfast_calls_total{client="weather",kind="successful_with_retry"} 6
steadfast_calls_total{client="weather",kind="failed_with_retry"} 3
steadfast_calls_total{client="weather",kind="not_permitted"} 1
http_client_request_duration_seconds_bucket{client="weather",le="+Inf"} 120
http_client_request_duration_seconds_count{client="weather",http_response_status_code="200"} 100 # {trace_id="abc"} 0.01 1700000000
http_client_request_duration_seconds_count{client="weather",http_response_status_code="503"} 20
steadfast_retries_total{client="weather",reason="503"} 15
steadfast_retries_total{client="weather",reason="429"} 5
steadfast_token_fetches_total{credential="worker",result="success"} 2
steadfast_token_fetches_total{credential="worker",result="failure",error_type="503"} 1
steadfast_token_invalidations_total{credential="worker",result="newer_present"} 4
steadfast_circuit_breaker_state{client="weather",server_address="api",state="open"} 1
weird_label{text="a \\"quoted\\" value, with a comma"} 1.5e3
this line is not a sample
`;

describe('parsePrometheusText', () => {
  it('reads names, labels (escapes included) and values, and skips comments and junk', () => {
    const samples = parsePrometheusText(EXPOSITION);
    expect(samples.find((sample) => sample.name === 'weird_label')).toEqual({
      name: 'weird_label',
      labels: { text: 'a "quoted" value, with a comma' },
      value: 1500,
    });
    expect(samples.some((sample) => sample.name === 'this')).toBe(false);
    expect(sumOf(samples, 'http_client_request_duration_seconds_count')).toBe(120);
    expect(sumOf(samples, 'steadfast_token_fetches_total', { result: 'failure' })).toBe(1);
    expect(sumBy(samples, 'steadfast_retries_total', 'reason')).toEqual({ '503': 15, '429': 5 });
  });

  it('keeps an OpenMetrics exemplar apart from the value', () => {
    const samples = parsePrometheusText(EXPOSITION);
    const withExemplar = samples.filter((sample) => sample.exemplar !== undefined);
    expect(withExemplar).toEqual([
      expect.objectContaining({ value: 100, exemplar: '{trace_id="abc"} 0.01 1700000000' }),
    ]);
  });

  it('throws on a line it cannot read when strict, naming the line', () => {
    expect(() => parsePrometheusText(EXPOSITION, { strict: true })).toThrow(
      'unparseable exposition line: this line is not a sample',
    );
    expect(parsePrometheusText('# EOF\nup 1\n', { strict: true })).toHaveLength(1);
  });
});

describe('fleet counters', () => {
  it('reads the telemetry contract into calls, attempts, retries and token counters', () => {
    const counters = countersOf(parsePrometheusText(EXPOSITION));
    expect(counters).toEqual({
      calls: 100,
      succeeded: 96,
      withRetry: 9,
      notPermitted: 1,
      attempts: 120,
      retriesByReason: { '503': 15, '429': 5 },
      tokenFetches: 3,
      tokenFetchFailures: 1,
      tokenInvalidations: { newer_present: 4 },
      breakerRejections: 0,
    });
  });

  it('adds workers up and subtracts snapshots field by field', () => {
    const one = countersOf(parsePrometheusText(EXPOSITION));
    const two = addCounters([one, one]);
    expect(two.calls).toBe(200);
    expect(two.retriesByReason).toEqual({ '503': 30, '429': 10 });
    const delta = subtractCounters(two, one);
    expect(delta).toEqual(one);
  });
});

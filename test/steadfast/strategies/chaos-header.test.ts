import { describe, expect, it } from 'vitest';
import { parseFaultHeader } from '../../../packages/steadfast/src/strategies/chaos/index.js';

describe('the chaos header', () => {
  it('names a fault, with a latency for latency and a count of attempts for any', () => {
    expect(parseFaultHeader('503')).toEqual({ fault: '503' });
    expect(parseFaultHeader('reset')).toEqual({ fault: 'reset' });
    expect(parseFaultHeader('ECONNRESET')).toEqual({ fault: 'reset' });
    expect(parseFaultHeader('econnreset')).toEqual({ fault: 'reset' });
    expect(parseFaultHeader('latency=250')).toEqual({ fault: 'latency', latencyMs: 250 });
    expect(parseFaultHeader(' 429 * 2 ')).toEqual({ fault: '429', times: 2 });
    expect(parseFaultHeader('latency=10*3')).toEqual({ fault: 'latency', latencyMs: 10, times: 3 });
  });

  it('is undefined for anything else', () => {
    for (const value of [
      '',
      '500',
      'latency=',
      '503=10',
      '401*',
      '401*12345',
      'latency=12345678',
    ]) {
      expect(parseFaultHeader(value), value).toBeUndefined();
    }
  });
});

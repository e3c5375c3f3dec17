import { describe, expect, it } from 'vitest';
import { AttemptSignal } from '../../../packages/steadfast/src/pipeline/attempt-signal.js';

describe('AttemptSignal', () => {
  it('calls every listener still registered, once, in order, with the reason set', () => {
    const signal = new AttemptSignal();
    const calls: string[] = [];
    const a = () => calls.push(`a:${String(signal.reason)}`);
    const b = () => calls.push('b');
    const c = () => calls.push('c');
    const d = () => calls.push('d');
    signal.addEventListener('abort', a);
    signal.addEventListener('abort', b);
    signal.addEventListener('abort', c);
    signal.addEventListener('abort', d);
    signal.removeEventListener('abort', c);
    signal.removeEventListener('abort', c); // twice: nothing happens
    signal.abort('timeout');
    signal.abort('again');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('timeout');
    expect(calls).toEqual(['a:timeout', 'b', 'd']);
  });

  it('promotes the next listener when the first one is removed', () => {
    const signal = new AttemptSignal();
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    signal.addEventListener('abort', a);
    signal.addEventListener('abort', b);
    signal.removeEventListener('abort', a);
    signal.abort(undefined);
    expect(calls).toEqual(['b']);
  });
});

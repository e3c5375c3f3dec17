import { describe, expect, it } from 'vitest';
import { retrySchema } from '../../../packages/steadfast/src/config/client-schema.js';
import { describeOptions } from '../../../packages/steadfast/src/config/schema.js';
import {
  defaultText,
  OPTIONS_FILES,
  renderOptionsFile,
  staleOptionsFiles,
} from '../../../scripts/generate-options.js';

describe('the documented option interfaces', () => {
  it('are what the schemas generate (run scripts/generate-options.ts after changing one)', () => {
    expect(staleOptionsFiles()).toEqual([]);
  });

  it('state each default as the schema declares it, with its unit', () => {
    const option = (key: string) =>
      describeOptions(retrySchema).options.find((o) => o.key === key)!;
    expect(defaultText(option('maxRetries'))).toBe('`3`');
    expect(defaultText(option('baseDelayMs'))).toBe('`2_000` (2 s)');
    expect(defaultText(option('backoff'))).toBe("`'exponential'`");
    expect(defaultText(option('random'))).toBe('`Math.random`');
    expect(defaultText(option('budget'))).toBe(
      'on, with the defaults of {@link RetryBudgetOptions}',
    );
  });

  it('carry a @defaultValue for every option that may be left out', () => {
    const text = renderOptionsFile(OPTIONS_FILES[0]!);
    expect(text).toContain(
      '@defaultValue `30_000` (30 s)\n   */\n  readonly totalTimeoutMs?: number;',
    );
    expect(text).not.toMatch(/Default:? \d/);
  });
});

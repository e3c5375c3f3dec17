import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { parseLoadtestArgs } from '../../../src/loadtest/config.js';
import { Progress } from '../../../src/loadtest/progress.js';
import { type LoadtestReport, type RunHooks, runLoadtest } from '../../../src/loadtest/run.js';
import type { LoadtestConfig } from '../../../src/loadtest/types.js';

/** A temporary directory removed after the file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `steadfast-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Parse CLI arguments exactly as `steadfast loadtest` does. */
export function configFrom(args: readonly string[]): LoadtestConfig {
  const parsed = parseLoadtestArgs([...args, '--progress', 'off'], {});
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
}

/** Run a load test in this process, as the CLI would, without progress output. */
export function run(
  args: readonly string[],
  hooks: Partial<RunHooks> = {},
): Promise<LoadtestReport> {
  return runLoadtest(configFrom(args), {
    stop: new AbortController().signal,
    progress: new Progress('off'),
    command: `steadfast loadtest ${args.join(' ')}`,
    ...hooks,
  });
}

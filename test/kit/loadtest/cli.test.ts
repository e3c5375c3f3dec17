import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/options.js';
import { parseLoadtestArgs } from '../../../src/loadtest/config.js';
import type { LoadtestReport } from '../../../src/loadtest/run.js';
import { tempDir } from './support.js';

function refusal(args: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseLoadtestArgs(args, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${args.join(' ')}`);
}

describe('steadfast loadtest refuses nonsense with a clear message', () => {
  it.each([
    [['--rate', '0'], /--rate must be in \[0.1/],
    [['--rate', '10', '--concurrency', '5'], /exclude each other/],
    [['--duration', '10s', '--calls', '5'], /--duration and --calls exclude each other/],
    [['--duration', 'soon'], /--duration: "soon" is not a duration/],
    [['--compare', 'none,bogus'], /unknown policy "bogus"/],
    [['--compare', 'none'], /at least two policies/],
    [['--compare', 'none,none'], /lists a policy twice/],
    [['--policy', 'none', '--compare', 'none,standard'], /exclude each other/],
    [['--workers', '2'], /needs --redis/],
    [
      ['--phases', 'healthy:5s,outage:10s', '--duration', '5s'],
      /last phase starts at 5 s but the run lasts 5 s/,
    ],
    [['--phases', 'healthy,outage:1s'], /needs a duration/],
    [['--profile', 'sunny'], /unknown profile "sunny"/],
    [['--profile', '{"errorRate":2}'], /errorRate/],
    [
      ['--override', '{"retry":{"maxRetries":-1}}'],
      /--override: Invalid option `retry.maxRetries`: must be ≥ 0/,
    ],
    [['--override', '{"baseUrl":"http://x"}'], /set by the load tester/],
    [['--override', '[1]'], /must be a JSON object/],
    [['--policy', 'naive', '--override', '{}'], /"naive" has no options/],
    [['--target', 'ftp://x'], /must use http: or https:/],
    [['--target', 'http://127.0.0.1:9/x', '--profile', 'storm'], /do nothing for a URL target/],
    [['--target', 'http://127.0.0.1:9/x', '--token-url', 'http://idp/token'], /go together/],
    [['--token-url', 'http://idp/token'], /for a URL target/],
    [
      ['--concurrency', '2', '--workers', '3', '--redis', 'redis://127.0.0.1:6379'],
      /at least --workers/,
    ],
    [['--name', '../escape'], /--name may only hold/],
  ])('%j', (args, message) => {
    expect(refusal(args)).toMatch(message);
  });

  it('accepts a sensible comparison and fills in the defaults', () => {
    const parsed = parseLoadtestArgs(['--compare', 'none,naive,standard', '--seed', '7'], {});
    expect(parsed.help).toBe(false);
    if (parsed.help) return;
    expect(parsed.config).toMatchObject({
      policies: ['none', 'naive', 'standard'],
      model: { kind: 'open', ratePerSecond: 100 },
      durationMs: 10_000,
      seed: 7,
      workers: 1,
      outDir: 'reports',
      target: { kind: 'demo', phases: [{ profile: { name: 'flaky' }, startMs: 0 }] },
    });
  });
});

describe('Ctrl-C', () => {
  it('stops the run and still writes the report for what ran', async () => {
    const dir = tempDir('sigint');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'loadtest',
        '--policy',
        'standard',
        '--rate',
        '50',
        '--duration',
        '5m',
        '--progress',
        'plain',
        '--out',
        dir,
        '--name',
        'interrupted',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    // The first progress line means calls are flowing: interrupt then.
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        if (/\[standard\] \d+%/.test(stderr)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited early (${code}): ${stderr}`)));
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(code).toBe(130);
    expect(stderr).toContain('stopping: finishing the report');
    expect(stdout).toContain('Interrupted (Ctrl-C)');
    const file = join(dir, 'interrupted.json');
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(dir, 'interrupted.html'))).toBe(true);
    const report = JSON.parse(readFileSync(file, 'utf8')) as LoadtestReport;
    expect(report.interrupted).toBe(true);
    expect(report.runs[0]!.summary.calls).toBeGreaterThan(0);
    expect(report.runs[0]!.summary.elapsedMs).toBeLessThan(60_000);
  }, 60_000);
});

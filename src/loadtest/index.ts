import { connect } from 'node:net';
import { relative } from 'node:path';
import { helpText, UsageError } from '../cli/options.js';
import { LOADTEST_OPTIONS, parseLoadtestArgs } from './config.js';
import { POLICY_DESCRIPTIONS } from './policies.js';
import { Progress } from './progress.js';
import { terminalReport } from './report/terminal.js';
import { writeReports } from './report/write.js';
import { type LoadtestReport, type RunHooks, runLoadtest } from './run.js';
import type { LoadtestConfig } from './types.js';

export { parseLoadtestArgs } from './config.js';
export { terminalReport } from './report/terminal.js';
export { writeReports } from './report/write.js';
export type { LoadtestReport } from './run.js';
export { runLoadtest } from './run.js';
export type { LoadtestConfig } from './types.js';

export const LOADTEST_SUMMARY =
  'Load-test retry behaviour: drive calls through resilience policies against the flaky demo API (or a URL) and report';

export function loadtestHelp(): string {
  return `${helpText('steadfast loadtest [options]', LOADTEST_SUMMARY, LOADTEST_OPTIONS)}
Policies:
${Object.entries(POLICY_DESCRIPTIONS)
  .map(([name, text]) => `  ${name.padEnd(19)}${text}`)
  .join('\n')}

Examples:
  steadfast loadtest --compare none,naive,standard --phases healthy:3s,storm:6s,outage:3s,healthy:4s --rate 150 --duration 16s --seed 7
  steadfast loadtest --compare naive,standard,standard+quota --profile quota --rate 300 --duration 10s --workers 4 --redis private
  steadfast loadtest --compare standard,standard+hedging --profile tail --rate 100 --duration 10s
  steadfast loadtest --compare standard,standard+fallback --phases healthy:3s,outage:4s,healthy:3s --rate 50 --duration 10s
  steadfast loadtest --compare standard,standard+adaptive --profile capacity --rate 300 --duration 10s
  steadfast loadtest --compare standard,standard+throttle --profile overload --rate 300 --duration 10s
`;
}

/**
 * Run `steadfast loadtest` end to end: parse, run (Ctrl-C stops and still reports), print
 * the table, write the JSON and HTML reports. Resolves the exit code.
 */
export async function loadtestMain(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: { stdout: { write(s: string): unknown }; stderr: NodeJS.WriteStream } = {
    stdout: process.stdout,
    stderr: process.stderr,
  },
): Promise<number> {
  const parsed = parseLoadtestArgs(argv, env);
  if (parsed.help) {
    io.stdout.write(loadtestHelp());
    return 0;
  }
  const config = parsed.config;
  if (config.workers > 1 && config.redisUrl) await checkRedisReachable(config.redisUrl);
  if (config.privateRedis) {
    const { redisServerAvailable } = await import('../apps/demo/private-redis.js');
    if (!redisServerAvailable()) {
      throw new UsageError(
        '--redis private: redis-server is not on PATH (Debian: apt-get install redis-server)',
      );
    }
  }
  const stop = new AbortController();
  const onSignal = () => {
    io.stderr.write('\nstopping: finishing the report for what ran (Ctrl-C again to quit now)\n');
    stop.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let report: LoadtestReport;
  try {
    report = await runLoadtest(config, {
      stop: stop.signal,
      progress: new Progress(progressMode(config, io.stderr), io.stderr),
      command: commandLine(argv),
    } satisfies RunHooks);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  io.stdout.write(`${terminalReport(report)}\n`);
  const files = await writeReports(report, config.outDir, config.reportName);
  io.stdout.write(
    `\nreports: ${relative(process.cwd(), files.html)}  ${relative(process.cwd(), files.json)}\n`,
  );
  return report.interrupted ? 130 : 0;
}

/** Fail early, and clearly, when the workers could not share tokens through Redis. */
async function checkRedisReachable(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    socket.setTimeout(2_000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
  if (!reachable) {
    throw new UsageError(
      `--redis: cannot connect to ${hostname}:${port || 6379}; the worker processes share tokens through Redis`,
    );
  }
}

function progressMode(config: LoadtestConfig, stderr: NodeJS.WriteStream): 'tty' | 'plain' | 'off' {
  if (config.progress === 'off') return 'off';
  if (config.progress === 'plain') return 'plain';
  return stderr.isTTY ? 'tty' : 'plain';
}

/** The command line, without the secret's value. */
function commandLine(argv: readonly string[]): string {
  const shown: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--client-secret') {
      shown.push(arg, '***');
      i++;
    } else if (arg.startsWith('--client-secret=')) {
      shown.push('--client-secret=***');
    } else {
      shown.push(/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
    }
  }
  return ['steadfast loadtest', ...shown].join(' ');
}

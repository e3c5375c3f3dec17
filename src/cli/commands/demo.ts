import { fileURLToPath } from 'node:url';
import { type RedisMode, runDemo } from '../../apps/demo/run-demo.js';
import type { CliCommand } from '../command.js';
import { helpText, parseOptions } from '../options.js';

const OPTIONS = {
  workers: {
    kind: 'integer',
    env: 'DEMO_WORKERS',
    default: 3,
    min: 1,
    max: 32,
    description: 'Worker processes',
  },
  duration: {
    kind: 'number',
    env: 'DEMO_DURATION_SECONDS',
    default: 90,
    min: 5,
    max: 86_400,
    description: 'Length of the whole run, all five phases, in seconds',
  },
  rate: {
    kind: 'number',
    env: 'DEMO_RATE',
    default: 20,
    min: 0.1,
    max: 1_000,
    description: 'Calls per second per worker',
  },
  concurrency: {
    kind: 'integer',
    env: 'DEMO_CONCURRENCY',
    default: 20,
    min: 1,
    max: 1_000,
    description: 'In-flight calls per worker at most',
  },
  'token-ttl-seconds': {
    kind: 'integer',
    env: 'DEMO_TOKEN_TTL_SECONDS',
    default: 60,
    min: 10,
    max: 86_400,
    description: 'Access token lifetime at the IdP (short, so the run shows refreshes)',
  },
  redis: {
    kind: 'string',
    env: 'DEMO_REDIS',
    default: 'auto',
    choices: ['auto', 'private', 'none'],
    description:
      'auto: REDIS_URL, else a private redis-server if on PATH, else in-memory; private: a private redis-server; none: in-memory',
  },
  'redis-url': {
    kind: 'secret',
    env: 'REDIS_URL',
    description: 'Use this Redis (keys under a per-run prefix, nothing flushed)',
  },
  seed: {
    kind: 'integer',
    env: 'DEMO_SEED',
    min: 0,
    max: 2 ** 32 - 1,
    description: 'Seed of the fault RNG (default random)',
  },
  plain: {
    kind: 'boolean',
    env: 'DEMO_PLAIN',
    default: false,
    description: 'Status lines instead of the full-screen view (automatic when not a terminal)',
  },
} as const;

/** How this process was started, so workers start the same way (`node dist/...` or tsx). */
function cliEntry(): { command: string; args: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(`../main.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return { command: process.execPath, args: [...process.execArgv, main] };
}

/** `steadfast demo`: the whole fleet through the fault phases, with a live view. */
export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'Run the demo fleet through fault phases, with a live view',
  async run(argv, env) {
    const parsed = parseOptions(OPTIONS, argv, env);
    if (parsed.help) {
      process.stdout.write(
        helpText(
          'steadfast demo [options]',
          'Starts the IdP, the flaky API and N workers (separate processes sharing one token\n' +
            'through Redis), then runs the phases healthy → 5xx + 429 → token revoked →\n' +
            'hard down → recovered with a live view read from every worker’s /metrics.\n' +
            'Ctrl-C stops every child cleanly. A summary is printed at the end.',
          OPTIONS,
        ),
      );
      return 0;
    }
    const options = parsed.values;
    const abort = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (abort.signal.aborted) {
        process.stderr.write(`${signal} again: still stopping the children, please wait\n`);
        return;
      }
      abort.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const report = await runDemo({
        workers: options.workers,
        durationMs: options.duration * 1000,
        ratePerSecond: options.rate,
        concurrency: options.concurrency,
        tokenTtlSeconds: options['token-ttl-seconds'],
        redis: options.redis as RedisMode,
        ...(options['redis-url'] ? { redisUrl: options['redis-url'] } : {}),
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        ...(options.plain ? { interactive: false } : {}),
        cliEntry: cliEntry(),
        env,
        signal: abort.signal,
      });
      return report.ok ? 0 : 1;
    } catch (error) {
      if (abort.signal.aborted) {
        process.stderr.write('demo interrupted before the fleet was up; every child stopped\n');
        return 0;
      }
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

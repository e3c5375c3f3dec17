#!/usr/bin/env node
import type { CliCommand } from './command.js';
import { UsageError } from './options.js';
import { kitVersion } from './version.js';

/**
 * The `steadfast` commands. Each is loaded only when run, so `steadfast worker` never loads
 * the IdP's dependencies. Add a command: one file in `commands/`, one line here.
 */
const COMMANDS: Readonly<Record<string, { summary: string; load: () => Promise<CliCommand> }>> = {
  demo: {
    summary: 'Run the whole demo fleet (IdP, API, workers) through fault phases, with a live view',
    load: async () => (await import('./commands/demo.js')).demoCommand,
  },
  idp: {
    summary:
      'Run the demo OAuth2 authorization server (client credentials, introspection, revocation)',
    load: async () => (await import('./commands/idp.js')).idpCommand,
  },
  'flaky-api': {
    summary: 'Run the downstream weather API that validates tokens and injects faults',
    load: async () => (await import('./commands/flaky-api.js')).flakyApiCommand,
  },
  loadtest: {
    summary:
      'Load-test retry behaviour: compare resilience policies against the flaky API or a URL',
    load: async () => (await import('./commands/loadtest.js')).loadtestCommand,
  },
  worker: {
    summary: 'Run a worker that calls the API through the SDK and serves /metrics',
    load: async () => (await import('./commands/worker.js')).workerCommand,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
  return [
    'Usage: steadfast <command> [options]',
    '       steadfast --version',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}${summary}`),
    '',
    'Run `steadfast <command> --help` for the options of a command.',
    '',
  ].join('\n');
}

/** Run the CLI; resolves the exit code. */
async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${kitVersion()}\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`steadfast: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const command = await entry.load();
    return await command.run(rest, env);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(
        `steadfast ${name}: ${error.message}\nRun \`steadfast ${name} --help\`.\n`,
      );
      return 2;
    }
    process.stderr.write(`steadfast ${name}: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2), process.env);
// A command resolves once it has released what it owns; should a stray handle (a socket
// some library keeps) still hold the event loop, do not hang on it.
setTimeout(() => process.exit(), 2_000).unref();

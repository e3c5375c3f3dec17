import type { CliCommand } from '../command.js';

/** `steadfast loadtest`: see `src/loadtest/` and docs/loadtest.md. */
export const loadtestCommand: CliCommand = {
  name: 'loadtest',
  summary:
    'Load-test retry behaviour: compare resilience policies against the flaky demo API or a URL',
  async run(argv, env) {
    const { loadtestMain } = await import('../../loadtest/index.js');
    return loadtestMain(argv, env);
  },
};

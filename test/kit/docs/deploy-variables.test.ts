/**
 * docs/deploying.md is where an operator looks up the environment of a deployed service: every
 * variable `steadfast worker`, `steadfast idp` and `steadfast flaky-api` read is named there
 * (the compose file and the Kubernetes notes set them from it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIONS as FLAKY_API } from '../../../src/cli/commands/flaky-api.js';
import { OPTIONS as IDP } from '../../../src/cli/commands/idp.js';
import { OPTIONS as WORKER } from '../../../src/cli/commands/worker.js';
import { REPO_ROOT } from '../../helpers/prometheus.js';

const deploying = readFileSync(join(REPO_ROOT, 'docs/deploying.md'), 'utf8');

/** The environment variables a command's options read. */
function variables(options: Readonly<Record<string, { readonly env?: string }>>): string[] {
  return Object.values(options).flatMap((o) => (o.env === undefined ? [] : [o.env]));
}

describe('docs/deploying.md', () => {
  it.each([
    ['steadfast worker', WORKER],
    ['steadfast idp', IDP],
    ['steadfast flaky-api', FLAKY_API],
  ] as const)('names every variable %s reads', (_, options) => {
    const names = variables(options);
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((name) => !deploying.includes(`\`${name}\``))).toEqual([]);
  });
});

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  pathWithoutServices,
  SERVICE_TOOLS,
  serviceNeededBy,
  unitTestFiles,
} from './unit-selection.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// Built, so that this file does not name a tool itself and stays a unit test.
const REDIS = ['redis', 'server'].join('-');

describe('the unit test selection', () => {
  const unit = unitTestFiles(root);

  it('keeps tests that start redis-server, Prometheus, docker-compose or Chromium out', () => {
    for (const file of [
      'test/redis/store-contract.test.ts', // test/helpers/redis.ts
      'test/kit/loadtest/workers.test.ts', // test/helpers/redis.ts
      'test/kit/deploy/promtool.test.ts', // promtool
      'test/kit/deploy/compose.test.ts', // docker-compose
      'test/kit/loadtest/html-report.test.ts', // test/kit/loadtest/chromium.ts
      'test/kit/apps/demo.test.ts', // the CLI's demo starts a private redis-server
    ]) {
      expect(unit, file).not.toContain(file);
    }
  });

  it('takes the pure and loopback tests', () => {
    expect(unit).toContain('test/kit/loadtest/percentile.test.ts');
    expect(unit).toContain('test/steadfast/strategies/retry/backoff.test.ts');
    expect(unit).toContain('test/steadfast/strategies/retry/retry.test.ts');
  });

  it('follows relative imports and child-process entry points to the tool', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unit-selection-'));
    mkdirSync(join(dir, 'fixtures'));
    writeFileSync(join(dir, 'a.test.ts'), "import { start } from './helper.js';\n");
    writeFileSync(
      join(dir, 'helper.ts'),
      `// not '${REDIS}' in a comment\nexport const child = new URL('./fixtures/child.ts', import.meta.url);\n`,
    );
    writeFileSync(join(dir, 'fixtures', 'child.ts'), `spawn('${REDIS}', []);\n`);
    writeFileSync(join(dir, 'b.test.ts'), `// spawn('${REDIS}')\nexport {};\n`);
    expect(serviceNeededBy(join(dir, 'a.test.ts'))?.at(-1)).toBe(REDIS);
    expect(serviceNeededBy(join(dir, 'b.test.ts'))).toBeUndefined();
  });

  it('runs unit tests with a PATH that has node and git but none of the service tools', () => {
    const path = pathWithoutServices();
    const has = (tool: string) =>
      spawnSync('sh', ['-c', `command -v ${tool}`], { env: { PATH: path } }).status === 0;
    expect(has('node')).toBe(true);
    expect(has('git')).toBe(true);
    expect(SERVICE_TOOLS.filter(has)).toEqual([]);
  });
});

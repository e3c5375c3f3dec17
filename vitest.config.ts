import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import { pathWithoutServices, unitTestFiles } from './test/unit-selection.js';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const ALL_TESTS = ['test/**/*.test.ts'];
// Tests that need no redis-server, Prometheus, docker-compose, openssl or Chromium
// (test/unit-selection.ts decides from what each file reaches): `npm run test:unit`.
const UNIT_TESTS = unitTestFiles(source('.'));

export default defineConfig({
  resolve: {
    // Tests run the packages from source, as tsconfig.json's `paths` do for the type checker
    // and for tsx in child processes: one copy of each module, whoever imports it.
    alias: [
      { find: /^steadfast$/, replacement: source('packages/steadfast/src/index.ts') },
      { find: /^steadfast\/options$/, replacement: source('packages/steadfast/src/options.ts') },
      { find: /^@steadfast\/redis$/, replacement: source('packages/redis/src/index.ts') },
      {
        find: /^@steadfast\/telemetry-node$/,
        replacement: source('packages/telemetry-node/src/index.ts'),
      },
    ],
  },
  test: {
    // Tests talk to real servers (HTTP on loopback, redis-server, Prometheus): give them time,
    // but never assert on timing.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2-core machines: limit parallel files so process-spawning suites do not starve each other.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        // Without the service tools on its PATH, so a unit test cannot use one unnoticed.
        test: { name: 'unit', include: UNIT_TESTS, env: { PATH: pathWithoutServices() } },
      },
      {
        extends: true,
        test: {
          name: 'services',
          include: ALL_TESTS,
          exclude: [...configDefaults.exclude, ...UNIT_TESTS],
        },
      },
    ],
  },
});

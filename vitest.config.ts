import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

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
    include: ['test/**/*.test.ts'],
    // Tests talk to real servers (HTTP on loopback, redis-server, Prometheus): give them time,
    // but never assert on timing.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2-core machines: limit parallel files so process-spawning suites do not starve each other.
    maxWorkers: 2,
    reporters: ['default'],
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
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

#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
// Fails the test run at once, with one line naming what to install, when a tool the tests
// need is missing. Tests never skip silently for lack of a prerequisite.
// scripts/prereqs.sh installs them; this only checks.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`steadfast tests: Node.js >= 20.19 is required (this is ${process.versions.node})`);
  process.exit(1);
}

const onPath = (bin) => () => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
// Where test/kit/loadtest/chromium.ts looks for it.
const chromium = () => ['/usr/bin/chromium', '/usr/bin/chromium-browser'].some(existsSync);

const tools = [
  [onPath('redis-server'), 'redis-server (Debian package: redis-server)'],
  [onPath('redis-cli'), 'redis-cli (Debian package: redis-tools)'],
  [onPath('prometheus'), 'prometheus (Debian package: prometheus)'],
  [onPath('promtool'), 'promtool (Debian package: prometheus)'],
  [
    onPath('docker-compose'),
    'docker-compose (Debian package: docker-compose), used to validate docker-compose.yml',
  ],
  [onPath('openssl'), 'openssl (Debian package: openssl), used to make TLS certificates for Redis'],
  [
    chromium,
    'chromium in /usr/bin (Debian package: chromium), used to render the load-test report',
  ],
];

const missing = tools.filter(([present]) => !present());
if (missing.length > 0) {
  console.error(
    `steadfast tests: missing prerequisites — install ${missing.map(([, what]) => what).join('; ')} (bash scripts/prereqs.sh installs what is missing)`,
  );
  process.exit(1);
}

#!/usr/bin/env node
// Fails the test run at once, with one line naming what to install, when a tool the tests
// need is missing. Tests never skip silently for lack of a prerequisite.
import { spawnSync } from 'node:child_process';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`steadfast tests: Node.js >= 20.19 is required (this is ${process.versions.node})`);
  process.exit(1);
}

const tools = [
  ['redis-server', 'redis-server (Debian package: redis-server)'],
  ['redis-cli', 'redis-cli (Debian package: redis-tools)'],
  ['prometheus', 'prometheus (Debian package: prometheus)'],
  ['promtool', 'promtool (Debian package: prometheus)'],
  [
    'docker-compose',
    'docker-compose (Debian package: docker-compose), used to validate docker-compose.yml',
  ],
];

const missing = tools.filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0);
if (missing.length > 0) {
  console.error(
    `steadfast tests: missing prerequisites — install ${missing.map(([, what]) => what).join('; ')}`,
  );
  process.exit(1);
}

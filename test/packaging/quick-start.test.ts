/**
 * The README's quick start is two command lines, CI runs the second one verbatim, and
 * scripts/prereqs.sh installs what is missing and only that. The installs run against stub
 * `apt-get`, `sudo`, `id` and `uname` commands on a PATH of their own: nothing is installed.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/prometheus.js';

const PREREQS = join(REPO_ROOT, 'scripts', 'prereqs.sh');

/** The command lines of the README's quick-start `sh` block, comments removed. */
function quickStartLines(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const block = /```sh\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf('\n## ', 3)))?.[1];
  return (block ?? '')
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '');
}

describe('the quick start', () => {
  it('is two command lines: one installs and runs the demo, one installs and runs the tests', () => {
    const lines = quickStartLines();
    expect(lines).toEqual([
      'bash scripts/prereqs.sh demo && npm ci && npm run demo',
      'bash scripts/prereqs.sh && npm ci && npm test',
    ]);
    const scripts = (
      JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    expect(scripts.demo).toBeDefined();
    expect(scripts.test).toMatch(/^node scripts\/check-prereqs\.mjs && /);
  });

  it('CI runs the README test line verbatim, and nothing else', () => {
    const commands = readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(commands).toEqual([
      'set -euo pipefail',
      'cd "$(dirname "$0")/.."',
      quickStartLines()[1],
    ]);
  });
});

describe('scripts/prereqs.sh', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  /**
   * A machine: a PATH with the real basics, stub `uname`/`id` (and `sudo` if asked), a stub
   * `apt-get` that logs its arguments and "installs" redis-server as another stub, and an
   * os-release file.
   */
  function machine(options: { uid?: number; sudo?: boolean; osId?: string; node?: boolean }) {
    dir = mkdtempSync(join(tmpdir(), 'steadfast-prereqs-'));
    const bin = join(dir, 'bin');
    const log = join(dir, 'apt.log');
    const stub = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    mkdirSync(bin);
    const basics = ['bash', 'grep', 'awk', 'sed', 'paste', 'env', 'cat', 'chmod'];
    for (const tool of [...basics, ...(options.node === false ? [] : ['node', 'npm'])]) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
      symlinkSync(found.stdout.trim(), join(bin, tool));
    }
    stub('uname', 'echo Linux');
    stub('id', `echo ${options.uid ?? 0}`);
    if (options.sudo) stub('sudo', `echo "sudo $*" >> ${log}; "$@"`);
    stub(
      'apt-get',
      `echo "apt-get $*" >> ${log}\n` +
        `if [ "$1" = install ]; then printf '#!/bin/bash\\n' > ${bin}/redis-server; chmod +x ${bin}/redis-server; fi`,
    );
    const osRelease = join(dir, 'os-release');
    writeFileSync(osRelease, `ID=${options.osId ?? 'debian'}\n`);
    const run = (...args: string[]) => {
      const r = spawnSync(join(bin, 'bash'), [PREREQS, ...args], {
        encoding: 'utf8',
        env: { PATH: bin, HOME: dir, STEADFAST_OS_RELEASE: osRelease },
      });
      return { status: r.status, output: r.stdout + r.stderr };
    };
    const aptCalls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
    return { run, aptCalls };
  }

  it('installs a missing tool with one apt-get update and one install, then does nothing', () => {
    const m = machine({ uid: 0 });
    const first = m.run('demo');
    expect(first.status, first.output).toBe(0);
    expect(m.aptCalls()).toEqual([
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends redis-server',
    ]);
    const again = m.run('demo');
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain('everything the demo profile needs is installed');
    expect(m.aptCalls()).toHaveLength(2);
  });

  it('goes through sudo when not root', () => {
    const m = machine({ uid: 1000, sudo: true });
    const r = m.run('demo');
    expect(r.status, r.output).toBe(0);
    expect(m.aptCalls()).toEqual([
      'sudo apt-get update -qq',
      'apt-get update -qq',
      'sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server',
      'apt-get install -y -qq --no-install-recommends redis-server',
    ]);
  });

  it('without root or sudo, or on another system, prints what to install and exits 1', () => {
    for (const options of [{ uid: 1000 }, { osId: 'arch' }]) {
      const m = machine(options);
      const r = m.run('demo');
      expect(r.status, r.output).toBe(1);
      expect(r.output).toContain('apt-get install redis-server');
      expect(r.output).toContain('brew install redis');
      expect(m.aptCalls()).toEqual([]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--check names every missing tool of the test profile with its package, and installs nothing', () => {
    const m = machine({ uid: 0 });
    const r = m.run('--check');
    expect(r.status).toBe(1);
    expect(r.output).toContain(
      'missing for the test profile: redis-server redis-cli prometheus promtool docker-compose openssl',
    );
    expect(r.output).toContain(
      'apt-get install redis-server redis-tools prometheus docker-compose openssl',
    );
    expect(m.aptCalls()).toEqual([]);
  });

  it('stops first, naming Node.js, when Node.js is missing', () => {
    const m = machine({ uid: 0, node: false });
    const r = m.run('demo');
    expect(r.status).toBe(1);
    expect(r.output).toContain('Node.js >= 20.19 with npm is required');
    expect(m.aptCalls()).toEqual([]);
  });

  it('finds nothing missing on this machine (npm test needs the same tools)', () => {
    const r = spawnSync('bash', [PREREQS, '--check'], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

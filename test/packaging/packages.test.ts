/**
 * The packages as a user gets them: each library is built, packed with `npm pack`, and
 * installed from its tarball into a temporary consumer project (dependencies and peers from
 * the registry, through the npm cache). A strict NodeNext TypeScript file importing each
 * package compiles against the shipped declarations with `skipLibCheck: false` and without
 * the DOM library, then runs: a client calls a loopback server, the Redis store shares a
 * token through a private redis-server, the OpenTelemetry bootstrap exports spans.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/prometheus.js';
import { usePrivateRedis } from '../helpers/redis.js';

const execFileAsync = promisify(execFile);
const CONSUMER_SOURCES = join(REPO_ROOT, 'test', 'packaging', 'consumer');
const MINUTE = 60_000;

interface Library {
  readonly dir: string;
  readonly name: string;
}

const LIBRARIES: readonly Library[] = [
  { dir: 'packages/steadfast', name: 'steadfast' },
  { dir: 'packages/redis', name: '@steadfast/redis' },
  { dir: 'packages/telemetry-node', name: '@steadfast/telemetry-node' },
];
/** What the SDK must never bring into an app that installs it alone. */
const HEAVY = /^(express|oidc-provider|ioredis|@opentelemetry\/(sdk-.*|semantic-conventions))$/;
/** The peers a user installs beside `steadfast`. */
const PEERS = ['@opentelemetry/api', 'prom-client'];

interface Packed {
  readonly tarball: string;
  readonly files: readonly string[];
}

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  engines?: { node?: string };
  sideEffects?: boolean;
  repository?: { directory?: string };
  exports?: Record<string, string | { types?: string; default?: string }>;
  devDependencies?: Record<string, string>;
}

/**
 * The environment of the npm and node children: without the `npm_*` variables of the
 * `npm test` that may have started us (npm_config_local_prefix would make the consumer's
 * npm install into this repository) and without OTEL_* settings of the machine.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = /^npm_config_(registry|cache|userconfig|globalconfig|.*proxy|strict_ssl|cafile)$/i;
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !keep.test(key)) continue;
    if (key.startsWith('OTEL_')) continue;
    env[key] = value;
  }
  return { ...env, NO_UPDATE_NOTIFIER: '1', ...extra };
}

async function run(
  command: string,
  args: readonly string[],
  cwd: string,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, {
      cwd,
      env: childEnv(options.env),
      timeout: options.timeoutMs ?? 3 * MINUTE,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
    );
  }
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

const repoPackage = readJson<PackageJson>(join(REPO_ROOT, 'package.json'));
let work = '';
const packed = new Map<string, Packed>();
/** Consumer projects, by name: `sdk` installs `steadfast` alone, `all` every library. */
const consumers = { sdk: '', all: '' };

/**
 * A consumer project: the given tarballs, the peers and the repo's TypeScript installed,
 * and the given scripts of test/packaging/consumer/ in src/.
 */
async function createConsumer(
  name: string,
  libraries: readonly string[],
  scripts: readonly string[],
): Promise<string> {
  const dir = join(work, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }),
  );
  for (const file of ['loopback.ts', ...scripts]) {
    writeFileSync(join(dir, 'src', file), readFileSync(join(CONSUMER_SOURCES, file)));
  }
  // What the README tells a Node service to use: no DOM library, nothing skipped.
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023'],
        types: ['node'],
        strict: true,
        skipLibCheck: false,
        rootDir: 'src',
        outDir: 'out',
      },
      include: ['src'],
    }),
  );
  const npmInstall = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
  const tarballs = libraries.map((library) => packed.get(library)!.tarball);
  await run('npm', [...npmInstall, ...tarballs, ...PEERS], dir);
  // The repo's TypeScript and Node types, as dev dependencies, so they are not counted.
  const dev = repoPackage.devDependencies ?? {};
  await run(
    'npm',
    [
      ...npmInstall,
      '--save-dev',
      `typescript@${dev.typescript}`,
      `@types/node@${dev['@types/node']}`,
    ],
    dir,
  );
  return dir;
}

/** Compile a consumer's src/ with its own tsc; memoized, several tests need the output. */
const compilations = new Map<string, Promise<string>>();
function compile(dir: string): Promise<string> {
  let compiled = compilations.get(dir);
  if (!compiled) {
    compiled = run(
      process.execPath,
      [join(dir, 'node_modules/typescript/bin/tsc'), '-p', dir],
      dir,
    );
    compilations.set(dir, compiled);
  }
  return compiled;
}

/** Run a compiled consumer script; it prints one JSON line. */
async function runScript<T>(dir: string, script: string, env: Record<string, string> = {}) {
  await compile(dir);
  const stdout = await run(process.execPath, [join(dir, 'out', script)], dir, {
    env,
    timeoutMs: MINUTE,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'steadfast-packaging-'));
  // Incremental: a no-op when dist/ is current, a full build in a fresh clone without one.
  await run('npm', ['run', 'build'], REPO_ROOT, { timeoutMs: 4 * MINUTE });
  for (const library of LIBRARIES) {
    const out = await run(
      'npm',
      ['pack', '--json', '--pack-destination', work],
      join(REPO_ROOT, library.dir),
    );
    const [result] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    packed.set(library.name, {
      tarball: join(work, result!.filename),
      files: result!.files.map((f) => f.path).sort(),
    });
  }
  [consumers.sdk, consumers.all] = await Promise.all([
    createConsumer('sdk', ['steadfast'], ['sdk.ts']),
    createConsumer(
      'all',
      LIBRARIES.map((l) => l.name),
      readdirSync(CONSUMER_SOURCES).filter((f) => f !== 'loopback.ts'),
    ),
  ]);
}, 8 * MINUTE);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed libraries', () => {
  it('hold only what a user needs: the build, its sources, README, CHANGELOG and LICENSE', () => {
    for (const { name } of LIBRARIES) {
      const { files } = packed.get(name)!;
      expect(files, name).toEqual(
        expect.arrayContaining([
          'package.json',
          'README.md',
          'CHANGELOG.md',
          'LICENSE',
          'dist/index.js',
          'dist/index.d.ts',
        ]),
      );
      const unexpected = files.filter(
        (f) =>
          !['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].includes(f) &&
          !/^dist\/.+\.(js|d\.ts)(\.map)?$/.test(f) &&
          !/^src\/.+\.ts$/.test(f),
      );
      expect(unexpected, name).toEqual([]);
      // no build state, tests or fixtures
      expect(
        files.filter((f) => /tsbuildinfo|\.test\.|fixtures|tsconfig/.test(f)),
        name,
      ).toEqual([]);
    }
  });

  it('declare engines, license, repository, side-effect freedom, and types for every export', () => {
    for (const { name, dir } of LIBRARIES) {
      const installed = join(consumers.all, 'node_modules', name);
      const pkg = readJson<PackageJson>(join(installed, 'package.json'));
      expect(pkg.version).toBe(readJson<PackageJson>(join(REPO_ROOT, dir, 'package.json')).version);
      expect(pkg.engines?.node, name).toBe('>=20.19');
      expect(pkg.license, name).toBe('MIT');
      expect(pkg.sideEffects, name).toBe(false);
      expect(pkg.repository?.directory, name).toBe(dir);
      const exportsMap = Object.entries(pkg.exports ?? {}).filter(([p]) => p !== './package.json');
      expect(exportsMap.length, name).toBeGreaterThan(0);
      for (const [path, target] of exportsMap) {
        expect(typeof target, `${name} ${path}`).toBe('object');
        const { types, default: js } = target as { types?: string; default?: string };
        expect(types, `${name} ${path} has types`).toMatch(/\.d\.ts$/);
        expect(js, `${name} ${path}`).toMatch(/\.js$/);
        expect(packed.get(name)!.files, `${name} ${path}`).toEqual(
          expect.arrayContaining([types!.replace(/^\.\//, ''), js!.replace(/^\.\//, '')]),
        );
      }
    }
  });

  it('carry their sources in every source map, and declaration maps lead to shipped sources', () => {
    let maps = 0;
    for (const { name } of LIBRARIES) {
      const installed = join(consumers.all, 'node_modules', name);
      for (const file of filesUnder(join(installed, 'dist')).filter((f) => f.endsWith('.map'))) {
        const map = readJson<{ sources: string[]; sourcesContent?: (string | null)[] }>(file);
        const where = relative(installed, file);
        expect(map.sources.length, where).toBeGreaterThan(0);
        if (file.endsWith('.js.map')) {
          expect(map.sourcesContent?.length, `${where} has sourcesContent`).toBe(
            map.sources.length,
          );
          expect(
            map.sourcesContent!.every((s) => typeof s === 'string' && s.length > 0),
            where,
          ).toBe(true);
        } else {
          for (const source of map.sources) {
            const target = resolve(join(file, '..'), source);
            expect(relative(installed, target), `${where} -> ${source}`).toMatch(/^src\//);
            expect(() => readFileSync(target), `${where} -> ${source} is shipped`).not.toThrow();
          }
        }
        maps++;
      }
    }
    expect(maps).toBeGreaterThan(20);
  });
});

describe('an app that installs steadfast alone', () => {
  it('gets at most 40 packages, none of the kit, Redis or the OpenTelemetry SDK', () => {
    const lock = readJson<{ packages: Record<string, { dev?: boolean }> }>(
      join(consumers.sdk, 'package-lock.json'),
    );
    const installed = Object.entries(lock.packages)
      .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(installed).toEqual(expect.arrayContaining(['steadfast', 'undici', 'opossum', ...PEERS]));
    expect(installed.length).toBeLessThanOrEqual(40);
    expect(installed.filter((name) => HEAVY.test(name))).toEqual([]);
  });

  it(
    'compiles a strict NodeNext consumer against the shipped declarations (skipLibCheck off)',
    async () => {
      await expect(compile(consumers.sdk)).resolves.toBeDefined();
    },
    2 * MINUTE,
  );

  it(
    'calls a loopback server and reads the answer',
    async () => {
      const result = await runScript<Record<string, unknown>>(consumers.sdk, 'sdk.js');
      expect(result).toEqual({
        path: '/hello',
        status: 200,
        text: '{"path":"/fetched"}',
        limit: 3,
        guard: false,
      });
    },
    2 * MINUTE,
  );
});

describe('an app that installs every library', () => {
  const redis = usePrivateRedis();

  it(
    'compiles a strict NodeNext consumer of each package (skipLibCheck off, no DOM)',
    async () => {
      await expect(compile(consumers.all)).resolves.toBeDefined();
    },
    2 * MINUTE,
  );

  it(
    'shares one token through a private redis-server with @steadfast/redis',
    async () => {
      const result = await runScript<{
        status: number;
        ok: boolean;
        authorization: string[];
        tokenRequests: number;
      }>(consumers.all, 'redis.js', { REDIS_URL: redis.url });
      expect(result).toEqual({
        status: 200,
        ok: true,
        authorization: ['Bearer token-1', 'Bearer token-1'],
        tokenRequests: 1,
      });
      // the token record is in this Redis, under the consumer's prefix
      expect(await redis.cli('KEYS', 'consumer:*')).toMatch(/consumer:tok:/);
    },
    2 * MINUTE,
  );

  it(
    'starts the OpenTelemetry SDK with @steadfast/telemetry-node and exports the spans',
    async () => {
      const result = await runScript<{ traceparent: string | null; exports: string[] }>(
        consumers.all,
        'telemetry-node.js',
      );
      expect(result.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(result.exports).toContain('POST /v1/traces');
    },
    2 * MINUTE,
  );

  it(
    'runs steadfast from the same install',
    async () => {
      const result = await runScript<{ status: number }>(consumers.all, 'sdk.js');
      expect(result.status).toBe(200);
    },
    2 * MINUTE,
  );
});

describe('the kit', () => {
  it(
    'packs the CLI with its README, CHANGELOG and LICENSE, and no build state',
    async () => {
      // --ignore-scripts: `prepare` (the build) already ran in beforeAll
      const out = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], REPO_ROOT);
      const [result] = JSON.parse(out) as { name: string; files: { path: string }[] }[];
      const files = result!.files.map((f) => f.path);
      expect(result!.name).toBe('@steadfast/kit');
      expect(files).toEqual(
        expect.arrayContaining([
          'package.json',
          'README.md',
          'CHANGELOG.md',
          'LICENSE',
          'dist/cli/main.js',
        ]),
      );
      expect(
        files.filter(
          (f) => !/^dist\//.test(f) && !/^[A-Z]+\.md$|^LICENSE$|^package\.json$/.test(f),
        ),
      ).toEqual([]);
      expect(files.filter((f) => /tsbuildinfo/.test(f))).toEqual([]);
    },
    MINUTE,
  );

  it(
    'prints its version from the built CLI',
    async () => {
      const out = await run(process.execPath, ['dist/cli/main.js', '--version'], REPO_ROOT);
      expect(out).toBe(`${repoPackage.version}\n`);
    },
    MINUTE,
  );
});

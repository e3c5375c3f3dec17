/**
 * The documentation's examples run as written: every ```ts block of docs/recipes.md, and the
 * README's main example (the first block of "Using the SDK"), each as a program of its own
 * (`node --import tsx`, the packages from source as in tsconfig.json) against real loopback
 * servers: a fresh API per program (./recipe-api.ts), an OAuth2 IdP (oidc-provider) and, for
 * the README's shared token store, a private redis-server. Each must exit 0, and print
 * exactly what its `// prints:` comments say, in order (`…` in a comment stands for anything).
 *
 * What the harness gives a block: every name its prelude declares with `declare const`
 * (`<!-- prelude: declare const baseUrl: string; -->`, which code-blocks.test.ts type-checks)
 * gets its value from {@link HarnessValues}; the README's example reads its URLs and secrets
 * from the environment instead, as a service would. So that the page cannot rot:
 * - a new block of docs/recipes.md runs without being registered anywhere;
 * - a block that must not run says so above its fence, with a reason:
 *   `<!-- not run: why -->` (it is still type-checked);
 * - every `##` recipe of the page has at least one block that runs.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Idp, startIdp } from '../../../src/apps/idp.js';
import { type RedisInstance, startRedis } from '../../helpers/redis.js';
import { startRecipeApi } from './recipe-api.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const RECIPES = 'docs/recipes.md';
const README = 'README.md';
const README_SECTION = 'Using the SDK';
// A block that has not exited by then holds its event loop open (alone, one takes ~2 s;
// five at once on a loaded 2-core machine, up to ~15 s).
const RUN_TIMEOUT_MS = 45_000;
const dir = join(root, '.tmp', 'doc-run');

/** The values a block's `declare const` names get (JSON values, written into its program). */
interface HarnessValues {
  /** The block's own loopback API (./recipe-api.ts). */
  readonly baseUrl: string;
  /** The IdP's token endpoint, and a client it knows (scope `weather.read`). */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

interface Example {
  readonly file: string;
  /** Line of the block's first code line in `file`. */
  readonly line: number;
  /** The `##` heading the block is under. */
  readonly heading: string;
  readonly prelude: string;
  /** The reason of a `<!-- not run: ... -->` above the fence. */
  readonly notRun: string | undefined;
  readonly code: string;
}

function examplesOf(file: string): Example[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const examples: Example[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (text.startsWith('## ')) heading = text.slice(3).trim();
    if (text.trim() !== '```ts') continue;
    // The HTML comments right above the fence: readers of the rendered page do not see them.
    const comments: string[] = [];
    for (let j = i - 1; j >= 0 && /^<!--.*-->\s*$/.test(lines[j]!); j--) comments.push(lines[j]!);
    const marker = (name: string) =>
      comments
        .map((c) => new RegExp(`^<!--\\s*${name}:(.*)-->\\s*$`).exec(c)?.[1])
        .find((text) => text !== undefined);
    const end = lines.indexOf('```', i + 1);
    examples.push({
      file,
      line: i + 2,
      heading,
      prelude: marker('prelude')?.trim() ?? '',
      notRun: marker('not run')?.trim(),
      code: lines.slice(i + 1, end).join('\n'),
    });
    i = end;
  }
  return examples;
}

/** What the block's `// prints:` comments promise, in order. */
function expectedOutput(code: string): string[] {
  return [...code.matchAll(/\/\/ prints: (.*)$/gm)].map((m) => m[1]!.trim());
}

function matches(line: string, expected: string): boolean {
  const pattern = expected
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(line);
}

/**
 * The program of a block: its prelude on the first line, the `declare const` names given
 * their harness values there, so the block's lines keep their numbers in stack traces.
 */
function programOf(example: Example, values: HarnessValues): string {
  const names: string[] = [];
  const prelude = example.prelude.replace(
    /\bdeclare\s+const\s+(\w+)\s*:\s*[^;]+;/g,
    (_m, name: string) => {
      names.push(name);
      return '';
    },
  );
  if (/\bdeclare\b/.test(prelude))
    throw new Error(
      `${example.file}:${example.line}: the harness gives values to \`declare const\` only`,
    );
  const missing = names.filter((name) => !Object.hasOwn(values, name));
  if (missing.length)
    throw new Error(`${example.file}:${example.line}: the harness has no value for ${missing}`);
  const given = names.map(
    (name) => `const ${name} = ${JSON.stringify(values[name as keyof HarnessValues])};`,
  );
  return `${given.join(' ')} ${prelude} ${example.code}\nexport {};\n`;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      stderr += `\n[did not exit within ${RUN_TIMEOUT_MS} ms: killed]`;
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const recipes = examplesOf(RECIPES);
const readmeExample = examplesOf(README).find((e) => e.heading === README_SECTION);
const runnable = recipes.filter((e) => e.notRun === undefined);

describe('the documentation examples run against loopback servers', () => {
  let idp: Idp;
  let redis: RedisInstance;
  const worker = { clientId: 'worker', clientSecret: 'docs-worker-secret-3c4d5e6f' };
  const resourceServer = { clientId: 'weather-api', clientSecret: 'docs-api-secret-7a8b9c0d' };

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    [idp, redis] = await Promise.all([
      startIdp({
        clients: [{ ...worker, scopes: ['weather.read'] }, resourceServer],
      }),
      startRedis(),
    ]);
  });

  afterAll(async () => {
    await Promise.all([idp?.close(), redis?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const valuesOf = (baseUrl: string): HarnessValues => ({
    baseUrl,
    tokenUrl: idp.tokenEndpoint,
    ...worker,
  });

  /** Is this bearer token active at the IdP? (RFC 7662 introspection, as an API does.) */
  async function introspect(token: string): Promise<boolean> {
    const basic = Buffer.from(`${resourceServer.clientId}:${resourceServer.clientSecret}`);
    const answer = await fetch(idp.introspectionEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic.toString('base64')}` },
      body: new URLSearchParams({ token }),
    });
    return ((await answer.json()) as { active?: boolean }).active === true;
  }

  /** Run one example as a program; it must exit 0 and print what it says. */
  async function runExample(
    example: Example,
    values: HarnessValues,
    env: Record<string, string> = {},
  ): Promise<void> {
    const name = `${example.file.replace(/\W/g, '-')}-L${example.line}.ts`;
    writeFileSync(join(dir, name), programOf(example, values));
    const result = await run(join(dir, name), env);
    const where = `${example.file}:${example.line} (${example.heading}); line n of ${name} is line ${example.line}+n-1 of the document`;
    expect(result.code, `${where} exited with ${result.code}:\n${result.stderr}`).toBe(0);
    const printed = result.stdout.trimEnd().split('\n').filter(Boolean);
    const expected = expectedOutput(example.code);
    // A line that matches its comment shows as the comment, so the diff shows only the others.
    const seen = printed.map((line, i) =>
      expected[i] !== undefined && matches(line, expected[i]) ? expected[i] : line,
    );
    expect(seen, `${where}: what it printed, against its // prints: comments`).toEqual(expected);
  }

  it('recipes.md has blocks to run, and every recipe runs one', () => {
    expect(runnable.length).toBeGreaterThan(0);
    const headings = new Set(
      readFileSync(join(root, RECIPES), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('## '))
        .map((l) => l.slice(3).trim()),
    );
    const withoutRun = [...headings].filter((h) => !runnable.some((e) => e.heading === h));
    expect(withoutRun, 'recipes without a block that runs').toEqual([]);
    for (const e of recipes.filter((e) => e.notRun !== undefined))
      expect(e.notRun, `${e.file}:${e.line}: \`not run:\` needs a reason`).not.toBe('');
  });

  it.concurrent.each(runnable.map((e) => [`${e.file}:${e.line} ${e.heading}`, e] as const))(
    '%s',
    async (_title, example) => {
      const api = await startRecipeApi({ introspect });
      try {
        await runExample(example, valuesOf(api.url));
      } finally {
        await api.close();
      }
    },
    RUN_TIMEOUT_MS + 10_000,
  );

  it(
    `the README's "${README_SECTION}" example declares what it uses and runs, sharing its token through Redis`,
    async () => {
      expect(readmeExample, `no ts block under "## ${README_SECTION}"`).toBeDefined();
      const example = readmeExample!;
      expect(example.prelude, 'the README example needs no hidden prelude').toBe('');
      expect(example.notRun).toBeUndefined();
      const api = await startRecipeApi({ introspect, requireToken: true });
      try {
        await runExample(example, valuesOf(api.url), {
          WEATHER_URL: api.url,
          TOKEN_URL: idp.tokenEndpoint,
          CLIENT_SECRET: worker.clientSecret,
          REDIS_URL: redis.url,
        });
        expect(api.stats().unauthorized).toBe(0);
        expect(api.stats().answered).toBeGreaterThan(0);
        // The token the example fetched is in the shared store, for the rest of the fleet.
        expect(await redis.cli('--scan')).not.toBe('');
      } finally {
        await api.close();
      }
    },
    RUN_TIMEOUT_MS + 10_000,
  );
});

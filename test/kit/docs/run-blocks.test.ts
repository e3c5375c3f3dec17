/**
 * The documentation's examples run as written: every ```ts block of the README, docs/ and the
 * packages' READMEs (./blocks.ts) is a program of its own (`node --import tsx`, the packages
 * from source as in tsconfig.json), run concurrently against real loopback servers: a fresh
 * API per program (./recipe-api.ts), one OAuth2 IdP (oidc-provider), one private
 * redis-server and one OTLP collector (./otlp-collector.ts). Each must exit 0 by itself, and
 * print exactly what its `// prints:` comments say, in order (`…` stands for anything).
 *
 * What the harness gives a block:
 * - every name its prelude declares with `declare const` gets its value from
 *   {@link harnessValues} (`<!-- prelude: declare const baseUrl: string; -->`); a client or
 *   an authorization it gives is closed after the block;
 * - the environment a service of the README would read: `WEATHER_URL` (the block's API),
 *   `TOKEN_URL` and `CLIENT_SECRET` (the IdP, clients `worker` and `weather-worker`; with
 *   the same secret, `jwt-worker` authenticates with `client_secret_jwt`), `CLIENT_KEY` (the
 *   PEM private key of `key-worker`, a `private_key_jwt` client whose public key is `docs-key`),
 *   `REDIS_URL`, `TOKEN_KEY`, and `OTEL_EXPORTER_OTLP_ENDPOINT` (the collector).
 *
 * So that the docs cannot rot:
 * - a new block runs without being registered anywhere, and a failure names its document
 *   and line;
 * - a block that stops where the app would go on says what ends it on the app's exit path,
 *   `<!-- then: await weather.close(); -->` (type-checked with it), rather than being killed;
 * - a block that must not run says so above its fence, with a reason:
 *   `<!-- not run: why -->` (it is still type-checked);
 * - every `##` recipe of docs/recipes.md has at least one block that runs.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Idp, startIdp } from '../../../src/apps/idp.js';
import { type RedisInstance, startRedis } from '../../helpers/redis.js';
import { type Block, blocksOf, documents, moduleOf, root } from './blocks.js';
import { type OtlpCollector, startOtlpCollector } from './otlp-collector.js';
import { type RecipeApi, startRecipeApi } from './recipe-api.js';

const RECIPES = 'docs/recipes.md';
const README = 'README.md';
const README_SECTION = 'Using the SDK';
// A block that has not exited by then holds its event loop open (alone, one takes ~2 s;
// five at once on a loaded 2-core machine, up to ~15 s).
const RUN_TIMEOUT_MS = 30_000;
const dir = join(root, '.tmp', 'doc-run');

/** What a block's `declare const` name gets: an expression, and what ends it after the block. */
interface HarnessValue {
  readonly expression: string;
  readonly dispose?: string;
}

interface Harness {
  /** The block's own loopback API (./recipe-api.ts). */
  readonly baseUrl: string;
  /** The IdP's token endpoint, and a client it knows (scope `weather.read`). */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** The names a block's prelude may declare, and the values they get. */
function harnessValues(h: Harness): Record<string, HarnessValue> {
  const json = (value: unknown): HarnessValue => ({ expression: JSON.stringify(value) });
  const steadfast = `(await import('steadfast'))`;
  const auth = `${steadfast}.clientCredentials({ tokenUrl: ${JSON.stringify(h.tokenUrl)}, clientId: ${JSON.stringify(h.clientId)}, clientSecret: ${JSON.stringify(h.clientSecret)}, scope: 'weather.read' })`;
  return {
    baseUrl: json(h.baseUrl),
    tokenUrl: json(h.tokenUrl),
    clientId: json(h.clientId),
    clientSecret: json(h.clientSecret),
    // The health of an app that is ready.
    ready: json(true),
    // A registry of the app's own, as in docs/telemetry.md.
    registry: { expression: `${steadfast}.createOpenMetricsRegistry()` },
    // An authorization from the IdP, for a client the block makes.
    auth: { expression: auth, dispose: 'await auth.close();' },
    // The README's `weather` client (its main example), on the block's API.
    weather: {
      expression: `${steadfast}.createClient({ name: 'weather', baseUrl: ${JSON.stringify(h.baseUrl)}, auth: ${auth} })`,
      dispose: 'await weather.close();',
    },
  };
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
 * their harness values there, so the block's lines keep their numbers in stack traces; what
 * the harness gave is closed after the block's `then`.
 */
function programOf(block: Block, harness: Harness): string {
  const values = harnessValues(harness);
  const names: string[] = [];
  const prelude = block.prelude.replace(
    /\bdeclare\s+const\s+(\w+)\s*:\s*[^;]+;/g,
    (_m, name: string) => {
      names.push(name);
      return '';
    },
  );
  if (/\bdeclare\b/.test(prelude))
    throw new Error(
      `${block.file}:${block.line}: the harness gives values to \`declare const\` only`,
    );
  const missing = names.filter((name) => !Object.hasOwn(values, name));
  if (missing.length)
    throw new Error(
      `${block.file}:${block.line}: the harness has no value for ${missing} (it has ${Object.keys(values)})`,
    );
  const given = names.map((name) => `const ${name} = ${values[name]!.expression};`);
  const disposals = names.map((name) => values[name]!.dispose ?? '');
  return moduleOf(block, `${given.join(' ')} ${prelude}`, disposals.join(' '));
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

const blocks = documents.flatMap(blocksOf);
const runnable = blocks.filter((b) => b.notRun === undefined);
const isReadmeExample = (b: Block) =>
  b === blocks.find((first) => first.file === README && first.heading === README_SECTION);

describe('the documentation examples run against loopback servers', () => {
  let idp: Idp;
  let redis: RedisInstance;
  let collector: OtlpCollector;
  const worker = { clientId: 'worker', clientSecret: 'docs-worker-secret-3c4d5e6f' };
  const resourceServer = { clientId: 'weather-api', clientSecret: 'docs-api-secret-7a8b9c0d' };
  // The key of the `private_key_jwt` client, made at test time.
  const clientKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    [idp, redis, collector] = await Promise.all([
      startIdp({
        clients: [
          // `weather.write` too: docs/tokens.md asks one credential for a second token.
          { ...worker, scopes: ['weather.read', 'weather.write'] },
          // The packages' READMEs call their worker `weather-worker`.
          {
            clientId: 'weather-worker',
            clientSecret: worker.clientSecret,
            scopes: ['weather.read'],
          },
          {
            clientId: 'jwt-worker',
            clientSecret: worker.clientSecret,
            tokenEndpointAuthMethod: 'client_secret_jwt',
            scopes: ['weather.read'],
          },
          {
            clientId: 'key-worker',
            tokenEndpointAuthMethod: 'private_key_jwt',
            jwks: {
              keys: [
                { ...clientKey.publicKey.export({ format: 'jwk' }), kid: 'docs-key', alg: 'ES256' },
              ],
            },
            scopes: ['weather.read'],
          },
          resourceServer,
        ],
      }),
      startRedis(),
      startOtlpCollector(),
    ]);
  });

  afterAll(async () => {
    await Promise.all([idp?.close(), redis?.stop(), collector?.close()]);
    rmSync(dir, { recursive: true, force: true });
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

  /** Run one block as a program; it must exit 0 and print what it says. */
  async function runBlock(block: Block, api: RecipeApi): Promise<void> {
    const name = `${block.file.replace(/\W/g, '-')}-L${block.line}.ts`;
    const where = `${block.file}:${block.line} (${block.heading || 'before the first heading'}); line n of ${name} is line ${block.line}+n-1 of the document`;
    let program: string;
    try {
      program = programOf(block, { baseUrl: api.url, tokenUrl: idp.tokenEndpoint, ...worker });
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`);
    }
    writeFileSync(join(dir, name), program);
    const result = await run(join(dir, name), {
      WEATHER_URL: api.url,
      TOKEN_URL: idp.tokenEndpoint,
      CLIENT_SECRET: worker.clientSecret,
      CLIENT_KEY: clientKey.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      REDIS_URL: redis.url,
      TOKEN_KEY: randomBytes(32).toString('base64'),
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    });
    expect(result.code, `${where} exited with ${result.code}:\n${result.stderr}`).toBe(0);
    const printed = result.stdout.trimEnd().split('\n').filter(Boolean);
    const expected = expectedOutput(block.code);
    // A line that matches its comment shows as the comment, so the diff shows only the others.
    const seen = printed.map((line, i) =>
      expected[i] !== undefined && matches(line, expected[i]) ? expected[i] : line,
    );
    expect(seen, `${where}: what it printed, against its // prints: comments`).toEqual(expected);
  }

  it('every block that does not run says why, and every recipe runs one', () => {
    expect(runnable.length).toBeGreaterThan(0);
    for (const b of blocks.filter((b) => b.notRun !== undefined))
      expect(b.notRun, `${b.file}:${b.line}: \`not run:\` needs a reason`).not.toBe('');
    const headings = new Set(
      readFileSync(join(root, RECIPES), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('## '))
        .map((l) => l.slice(3).trim()),
    );
    const withoutRun = [...headings].filter(
      (h) => !runnable.some((b) => b.file === RECIPES && b.heading === h),
    );
    expect(withoutRun, 'recipes without a block that runs').toEqual([]);
    const readme = blocks.find(isReadmeExample);
    expect(readme, `no ts block under "## ${README_SECTION}" of the README`).toBeDefined();
    expect(readme!.prelude, 'the README example needs no hidden prelude').toBe('');
    expect(readme!.notRun, 'the README example runs').toBeUndefined();
  });

  it.concurrent.each(runnable.map((b) => [`${b.file}:${b.line} ${b.heading}`, b] as const))(
    '%s',
    async (_title, block) => {
      // The README's main example reads a token it must have: every request carries one.
      const api = await startRecipeApi({ introspect, requireToken: isReadmeExample(block) });
      try {
        await runBlock(block, api);
        if (isReadmeExample(block)) {
          expect(api.stats().unauthorized).toBe(0);
          expect(api.stats().answered).toBeGreaterThan(0);
          // The token the example fetched is in the shared store, for the rest of the fleet.
          expect(await redis.cli('--scan')).not.toBe('');
        }
      } finally {
        await api.close();
      }
    },
    RUN_TIMEOUT_MS + 10_000,
  );
});

/**
 * Which test files are unit tests: the ones that need none of the services the full suite
 * starts (redis-server, Prometheus and promtool, docker-compose, openssl, Chromium).
 *
 * Decided from the code, not from a list: a test file is a unit test unless it, or a file it
 * reaches through relative imports and relative `new URL(…, import.meta.url)` references
 * (child processes' entry points, the CLI), names one of those tools as a string literal. A new test
 * that starts a redis-server through test/helpers/redis.ts therefore leaves the unit project
 * by itself. As a second guard the unit project runs with {@link pathWithoutServices} as its
 * PATH, so a test that still reaches a tool some other way fails instead of using it.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The executables the full suite needs and unit tests must not. */
export const SERVICE_TOOLS = [
  'redis-server',
  'redis-cli',
  'prometheus',
  'promtool',
  'docker',
  'docker-compose',
  'openssl',
  'chromium',
  'chromium-browser',
] as const;

const TOOL_LITERAL = new RegExp(
  `['"\`](?:${SERVICE_TOOLS.join('|')}|/usr/bin/chromium[\\w-]*)['"\`\\s]`,
);
const RELATIVE_IMPORT = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;
const RELATIVE_URL = /new URL\(\s*['"](\.{1,2}\/[^'"]+\.[cm]?[jt]s)['"]\s*,\s*import\.meta\.url/g;

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), '..');

/** The text without block comments and `//` line comments (a URL's `//` follows a colon). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\])\/\/.*$/gm, '$1');
}

/** The source a relative specifier names: a `.js` specifier names the `.ts` file here. */
function sourceOf(from: string, specifier: string): string | undefined {
  const target = resolve(dirname(from), specifier);
  for (const candidate of [target, target.replace(/\.js$/, '.ts'), `${target}.ts`]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** The tool a file or anything it reaches names, with the chain that leads to it. */
export function serviceNeededBy(file: string, seen = new Set<string>()): string[] | undefined {
  if (seen.has(file)) return undefined;
  seen.add(file);
  // The libraries under test start no service (they only name tools in messages); the
  // kit's apps and the test helpers do.
  if (/^packages[\\/]/.test(relative(ROOT, file))) return undefined;
  // This module names the tools only to keep them away from unit tests.
  if (file === SELF) return undefined;
  const text = withoutComments(readFileSync(file, 'utf8'));
  const tool = TOOL_LITERAL.exec(text);
  if (tool) return [file, tool[0].slice(1, -1)];
  for (const pattern of [RELATIVE_IMPORT, RELATIVE_URL]) {
    for (const match of text.matchAll(pattern)) {
      const next = sourceOf(file, match[1]!);
      const chain = next && serviceNeededBy(next, seen);
      if (chain) return [file, ...chain];
    }
  }
  return undefined;
}

function testFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFilesUnder(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The unit test files below `root`/test, as paths relative to `root`, sorted. */
export function unitTestFiles(root: string): string[] {
  return testFilesUnder(join(root, 'test'))
    .filter((file) => serviceNeededBy(file) === undefined)
    .map((file) => relative(root, file).split('\\').join('/'))
    .sort();
}

/**
 * A PATH with every executable of `path` but the service tools: a folder of links, made once
 * per PATH value and shared by concurrent runs (it is renamed into place whole).
 */
export function pathWithoutServices(path: string = process.env.PATH ?? ''): string {
  const dirs = path.split(delimiter).filter((dir) => dir !== '' && existsSync(dir));
  // A tool installed since (a folder's mtime moves) gets a fresh folder of links.
  const state = dirs.map((dir) => `${dir}@${statSync(dir).mtimeMs}`).join(delimiter);
  const key = createHash('sha256').update(state).digest('hex').slice(0, 12);
  const target = join(tmpdir(), `steadfast-unit-path-${key}`);
  if (existsSync(target)) return target;
  const staging = mkdtempSync(`${target}-`);
  const excluded = new Set<string>(SERVICE_TOOLS);
  for (const dir of dirs) {
    for (const name of readdirSync(dir)) {
      const link = join(staging, name);
      if (excluded.has(name) || existsSync(link)) continue;
      try {
        symlinkSync(join(dir, name), link);
      } catch {
        // A name already taken by an earlier PATH entry: the first one wins, as in a shell.
      }
    }
  }
  try {
    renameSync(staging, target);
  } catch {
    if (!existsSync(target)) return staging;
    // Another run renamed its folder into place first; use that one.
    rmSync(staging, { recursive: true, force: true });
  }
  return target;
}

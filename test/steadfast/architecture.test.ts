/**
 * The layering the docs promise (docs/architecture.md), checked on the import statements:
 * - pipeline/ is the contract: it imports only itself, errors.ts and Node built-ins;
 * - call-pipeline.ts is the one composition root: no other file builds a pipeline layer;
 * - the other packages and the kit reach the SDK through its public entry points only.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SDK = join(ROOT, 'packages/steadfast/src');

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourcesUnder(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The module specifiers a file imports or re-exports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of text.matchAll(
    /^\s*(?:import|export)\s+(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm,
  )) {
    specifiers.push((match[1] ?? match[2])!);
  }
  return specifiers;
}

/** Relative specifiers resolved to repository paths; bare ones as they are. */
function targetsOf(file: string): string[] {
  return importsOf(file).map((specifier) =>
    specifier.startsWith('.') ? relative(ROOT, resolve(dirname(file), specifier)) : specifier,
  );
}

describe('the SDK layering', () => {
  it('the pipeline contract imports nothing above it', () => {
    const offenders = sourcesUnder(join(SDK, 'pipeline')).flatMap((file) =>
      targetsOf(file)
        .filter(
          (target) =>
            !target.startsWith('node:') &&
            !target.startsWith('packages/steadfast/src/pipeline/') &&
            target !== 'packages/steadfast/src/errors.js',
        )
        .map((target) => `${relative(ROOT, file)} imports ${target}`),
    );
    expect(offenders).toEqual([]);
  });

  it('errors.ts, which the contract uses, imports nothing of the SDK', () => {
    expect(targetsOf(join(SDK, 'errors.ts')).filter((t) => !t.startsWith('node:'))).toEqual([]);
  });

  it('only the composition root builds pipeline layers', () => {
    const layers = [
      'CallBoundary',
      'ConcurrencyLimiter',
      'Deadline',
      'Retry',
      'PerOriginCircuitBreaker',
      'AttemptBoundary',
      'AttemptTimeout',
      'Chaos',
      'UndiciTransport',
      'CallSpanLayer',
      'AttemptSpanLayer',
    ];
    const construction = new RegExp(`\\bnew (${layers.join('|')})\\(`);
    const builders = sourcesUnder(SDK)
      .filter((file) => construction.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SDK, file))
      .sort();
    // call-pipeline.ts builds them; telemetry/index.ts builds the two span layers it hands over.
    expect(builders).toEqual(['call-pipeline.ts', 'telemetry/index.ts']);
  });
});

describe('the packages', () => {
  const PUBLIC_ENTRIES = new Set(['steadfast', 'steadfast/options']);

  /** What a file of `dir` may import: its own package's files, Node, and public entries. */
  function allowed(target: string, dir: string, file: string): boolean {
    if (target.startsWith('node:')) return true;
    if (
      importsOf(file).some(
        (s) => s.startsWith('.') && target === relative(ROOT, resolve(dirname(file), s)),
      )
    ) {
      return target.startsWith(`${dir}/`);
    }
    if (target === 'steadfast' || target.startsWith('steadfast/'))
      return PUBLIC_ENTRIES.has(target);
    if (target.startsWith('@steadfast/')) return target.split('/').length === 2;
    return true; // a third-party package
  }

  it.each([['packages/redis/src'], ['packages/telemetry-node/src'], ['src']])(
    '%s reaches other packages by their public names only',
    (dir) => {
      const offenders = sourcesUnder(join(ROOT, dir)).flatMap((file) =>
        targetsOf(file)
          .filter((target) => !allowed(target, dir, file))
          .map((target) => `${relative(ROOT, file)} imports ${target}`),
      );
      expect(offenders).toEqual([]);
    },
  );
});

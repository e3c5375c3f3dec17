/**
 * Every TypeScript block of the README and docs/ compiles against the SDK as it is now.
 *
 * Each ```ts block becomes a module of its own, type-checked with the project's strictness
 * against the packages' sources (`steadfast`, `@steadfast/redis`, ... map to them as in
 * tsconfig.json), without the DOM library, as a Node service compiles them. A block that uses
 * names it does not define (a `baseUrl` from the surrounding prose, the reader's own
 * `Forecast` type) declares them in an HTML comment right above the fence, which readers of
 * the rendered page do not see:
 *
 *     <!-- prelude: declare const baseUrl: string; interface Forecast { date: string } -->
 *     ```ts
 *
 * and what the prose says comes after it (`await shutdown();`) in a `<!-- then: ... -->`
 * (./blocks.ts). run-blocks.test.ts runs them.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocksOf, documents, moduleOf, root } from './blocks.js';

/** The package names the blocks import, mapped to their sources as in tsconfig.json. */
const packagePaths = (
  JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  }
).compilerOptions.paths;

describe('code blocks of the README and docs/', () => {
  const blocks = documents.flatMap(blocksOf);

  it('there are blocks to check', () => {
    expect(blocks.length).toBeGreaterThan(5);
  });

  it('every ts block compiles against the SDK', () => {
    const dir = join(root, '.tmp', 'doc-blocks');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const names = blocks.map((block, i) => {
      const name = `block-${i}.ts`;
      // The prelude goes on the block's first line, so line numbers stay the document's.
      writeFileSync(join(dir, name), moduleOf(block));
      return name;
    });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2023'],
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          esModuleInterop: true,
          allowImportingTsExtensions: true,
          paths: Object.fromEntries(
            Object.entries(packagePaths).map(([name, [path]]) => [name, [join(root, path!)]]),
          ),
        },
        files: names,
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir],
      { encoding: 'utf8' },
    );
    // Name each failure by document and line, not by the temporary file.
    const report = tsc.stdout.replace(/\S*block-(\d+)\.ts\((\d+),(\d+)\)/g, (_m, i, line) => {
      const block = blocks[Number(i)]!;
      return `${block.file}:${block.line + Number(line) - 1}`;
    });
    rmSync(dir, { recursive: true, force: true });
    expect(report).toBe('');
    expect(tsc.status).toBe(0);
  }, 120_000);
});

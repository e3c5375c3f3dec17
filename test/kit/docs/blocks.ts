/**
 * The ```ts blocks of the README, docs/ and the packages' READMEs, with what the HTML comments
 * right above each fence (invisible on the rendered page, in any order) say about it:
 *
 * - `<!-- prelude: ... -->`: code put before the block, on its first line, for the names the
 *   surrounding prose defines (`declare const baseUrl: string;`, an import, a type);
 * - `<!-- then: ... -->`: code put after the block, for what the app does next, on its exit
 *   path (`await weather.close();` for a block that makes a client and stops there);
 * - `<!-- not run: why -->`: the block is type-checked but not run, for the reason given.
 *
 * code-blocks.test.ts type-checks every block with its prelude and `then`; run-blocks.test.ts
 * runs every block that is not marked `not run`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../..', import.meta.url));

/** The documents whose blocks are checked, relative to the repository root. */
export const documents: readonly string[] = [
  'README.md',
  ...readdirSync(join(root, 'docs')).map((f) => join('docs', f)),
  ...readdirSync(join(root, 'packages')).map((p) => join('packages', p, 'README.md')),
]
  .filter((f) => f.endsWith('.md'))
  .sort();

export interface Block {
  readonly file: string;
  /** Line of the block's first code line in `file`. */
  readonly line: number;
  /** The `##` heading the block is under ('' before the first). */
  readonly heading: string;
  readonly prelude: string;
  /** The code of a `<!-- then: ... -->` above the fence. */
  readonly after: string;
  /** The reason of a `<!-- not run: ... -->` above the fence. */
  readonly notRun: string | undefined;
  readonly code: string;
}

export function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (text.startsWith('## ')) heading = text.slice(3).trim();
    if (text.trim() !== '```ts') continue;
    const comments: string[] = [];
    for (let j = i - 1; j >= 0 && /^<!--.*-->\s*$/.test(lines[j]!); j--) comments.push(lines[j]!);
    const marker = (name: string) =>
      comments
        .map((c) => new RegExp(`^<!--\\s*${name}:(.*)-->\\s*$`).exec(c)?.[1])
        .find((found) => found !== undefined);
    const end = lines.indexOf('```', i + 1);
    blocks.push({
      file,
      line: i + 2,
      heading,
      prelude: marker('prelude')?.trim() ?? '',
      after: marker('then')?.trim() ?? '',
      notRun: marker('not run')?.trim(),
      code: lines.slice(i + 1, end).join('\n'),
    });
    i = end;
  }
  return blocks;
}

/**
 * A block as a module: its prelude on the first line (so the block's lines keep their
 * numbers), its `then` after it, and `cleanup` last. `prelude` may be the block's prelude
 * rewritten.
 */
export function moduleOf(block: Block, prelude = block.prelude, cleanup = ''): string {
  return `${prelude} ${block.code}\n${block.after}\n${cleanup}\nexport {};\n`;
}

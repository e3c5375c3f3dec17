/**
 * Comments and documents point only at what a reader of this repository can open.
 *
 * Every comment of the TypeScript and JavaScript sources (src/, packages/, test/, bench/,
 * dashboards/, scripts/ and the root configuration files), every comment of the shell
 * scripts, and every Markdown document (the READMEs, docs/, bench/) is read for repository
 * paths: top-level folders followed by a path, paths starting with a dot and a slash,
 * Markdown link targets, and upper-case Markdown names such as a design document's. Each must
 * name a file or folder git knows and the working tree holds, read from the repository root,
 * from the package that holds the comment, or, for a relative path, from the file's folder;
 * a path git ignores is a generated output (dist/, bench's results) and passes. Comments cite
 * no issue numbers either: the tracker is not in the repository, so a comment states the
 * reason itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Every file git tracks or would track (untracked, not ignored) that the working tree holds. */
function repositoryFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return [...new Set(listed.split('\n'))].filter((f) => f !== '' && existsSync(join(root, f)));
}

const files = repositoryFiles();
const known = new Set(files);
for (const file of files) {
  for (let dir = posix.dirname(file); dir !== '.'; dir = posix.dirname(dir)) known.add(dir);
}

const SCRIPT = /\.(?:[cm]?ts|[cm]?js)$/;
const SCANNED = /^(?:src|packages\/[^/]+\/src|test|bench|dashboards\/src|scripts)\//;

/** The text of every comment of a TypeScript or JavaScript file, with its line. */
function commentsOf(path: string, text: string): { line: number; text: string }[] {
  const kind = /\.[cm]?js$/.test(path) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false, kind);
  const seen = new Set<number>();
  const comments: { line: number; text: string }[] = [];
  const collect = (ranges: readonly ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) {
      if (seen.has(range.pos)) continue;
      seen.add(range.pos);
      const { line } = source.getLineAndCharacterOfPosition(range.pos);
      comments.push({ line: line + 1, text: text.slice(range.pos, range.end) });
    }
  };
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(text, node.pos));
    collect(ts.getTrailingCommentRanges(text, node.end));
    node.forEachChild(visit);
  };
  visit(source);
  collect(ts.getLeadingCommentRanges(text, source.endOfFileToken.pos));
  return comments.sort((a, b) => a.line - b.line);
}

const TOP_FOLDERS = 'src|packages|test|docs|bench|dashboards|scripts|prometheus|otel|\\.ci|shared';
/** A top-level folder and a path, a relative path with a known ending, an upper-case `.md`. */
const PATH = new RegExp(
  [
    `(?<![\\w@/.-])(?:${TOP_FOLDERS})/[\\w.\\-/]*[\\w/]`,
    `(?<![\\w@/.-])\\.{1,2}/[\\w.\\-/]*\\.(?:[cm]?ts|[cm]?js|md|json|ya?ml|sh)\\b`,
    '(?<![\\w@/.-])[A-Za-z][\\w-]*\\.md\\b',
  ].join('|'),
  'g',
);
/** `steadfast/<subpath>`: an import path, which must be one the SDK's package exports. */
const SUBPATH = /(?<![\w@/.-])steadfast\/[\w-]+(?![\w./-])/g;
const subpaths = new Set(
  Object.keys(
    (
      JSON.parse(readFileSync(join(root, 'packages/steadfast/package.json'), 'utf8')) as {
        exports: Record<string, unknown>;
      }
    ).exports,
  ).map((key) => key.replace(/^\./, 'steadfast')),
);
const ISSUE = /\bissues? #?\d+|(?<![\w&/#])#\d+\b/gi;

/** Where a path seen in `file` may live: the repository root, its package, or its folder. */
function resolves(file: string, path: string): boolean {
  const bare = path.replace(/\/$/, '');
  if (/^\.{1,2}\//.test(bare)) return exists(normalize(join(dirname(file), bare)));
  const bases = ['', posix.dirname(file)];
  const pkg = /^packages\/[^/]+\//.exec(file)?.[0];
  if (pkg) bases.push(pkg);
  return bases.some((base) => exists(posix.join(base, bare)));
}

function exists(path: string): boolean {
  const p = path.split('\\').join('/');
  // A compiled name (`x.js` in an import-like mention) stands for its source.
  return known.has(p) || (p.endsWith('.js') && known.has(`${p.slice(0, -3)}.ts`)) || ignored(p);
}

/** Whether git ignores the path: an output the code writes (a build, a benchmark's results). */
function ignored(path: string): boolean {
  if (path.startsWith('..')) return false;
  try {
    execFileSync('git', ['check-ignore', '-q', '--no-index', path], { cwd: root });
    return true;
  } catch {
    return false;
  }
}

interface Finding {
  readonly file: string;
  readonly line: number;
  readonly reference: string;
  readonly problem: 'missing' | 'issue number';
}

/** The paths and issue numbers a piece of text of `file` (starting at `line`) cites. */
function findingsIn(file: string, line: number, text: string): Finding[] {
  const findings: Finding[] = [];
  const lines = text.split('\n');
  lines.forEach((content, offset) => {
    for (const match of content.matchAll(PATH)) {
      const reference = match[0].replace(/[.:]+$/, '');
      // URLs' tails, globs, placeholders and container images (`otel/collector:0.1`) are not
      // citations.
      const after = content.slice(match.index + match[0].length);
      if (/^:\d/.test(after) && !/\.\w+$/.test(reference)) continue;
      if (/[*<…{]/.test(content.slice(match.index, match.index + match[0].length + 1))) continue;
      if (/:\/\/\S*$/.test(content.slice(0, match.index))) continue;
      if (!resolves(file, reference)) {
        findings.push({ file, line: line + offset, reference, problem: 'missing' });
      }
    }
    for (const match of content.matchAll(SUBPATH)) {
      if (!subpaths.has(match[0])) {
        findings.push({ file, line: line + offset, reference: match[0], problem: 'missing' });
      }
    }
    for (const match of content.matchAll(ISSUE)) {
      if (/:\/\/\S*$/.test(content.slice(0, match.index))) continue;
      findings.push({ file, line: line + offset, reference: match[0], problem: 'issue number' });
    }
  });
  return findings;
}

/** Markdown link targets, `[text](target)`, that point into the repository. */
function linkTargetsOf(file: string, text: string): Finding[] {
  const findings: Finding[] = [];
  text.split('\n').forEach((content, index) => {
    for (const match of content.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1]!.replace(/#.*$/, '');
      if (target === '' || /^[a-z]+:/i.test(target)) continue;
      if (
        !exists(
          normalize(join(dirname(file), target))
            .split('\\')
            .join('/'),
        )
      ) {
        findings.push({ file, line: index + 1, reference: target, problem: 'missing' });
      }
    }
  });
  return findings;
}

function findingsOf(file: string): Finding[] {
  const text = readFileSync(join(root, file), 'utf8');
  if (file.endsWith('.md')) {
    // A document may tell where an import used to be; its code blocks are compiled by
    // code-blocks.test.ts, which catches an import path that does not exist.
    const findings = findingsIn(file, 1, text).filter((f) => !/^steadfast\//.test(f.reference));
    return [...findings, ...linkTargetsOf(file, text)];
  }
  if (file.endsWith('.sh') || file === '.ci/run') {
    return text.split('\n').flatMap((content, index) => {
      const at = content.search(/(?:^|\s)#(?!!)/);
      return at === -1 ? [] : findingsIn(file, index + 1, content.slice(at));
    });
  }
  return commentsOf(file, text).flatMap((c) => findingsIn(file, c.line, c.text));
}

const scanned = files.filter(
  (f) =>
    (SCRIPT.test(f) && (SCANNED.test(f) || !f.includes('/'))) ||
    // A changelog records what was, old paths included.
    (f.endsWith('.md') &&
      !f.endsWith('CHANGELOG.md') &&
      /^(?:[^/]+|docs\/[^/]+|packages\/[^/]+\/[^/]+|bench\/[^/]+)$/.test(f)) ||
    /^scripts\/.*\.sh$/.test(f) ||
    f === '.ci/run',
);
const format = (f: Finding) => `${f.file}:${f.line} ${f.problem}: ${f.reference}`;
describe('references in comments and documents', () => {
  const findings = scanned.flatMap(findingsOf);

  it('reads the sources and the documents', () => {
    expect(scanned.length).toBeGreaterThan(150);
    expect(scanned).toContain('docs/tokens.md');
    expect(scanned).toContain('packages/steadfast/src/client.ts');
  });

  it('point only at files and folders of the repository, and cite no issue numbers', () => {
    expect(findings.map(format)).toEqual([]);
  });
});

describe('the reference scanner', () => {
  const here = 'packages/steadfast/src/http/example.ts';
  const problems = (text: string) => findingsIn(here, 1, text).map((f) => f.reference);

  it('accepts paths from the root, from the package and from the folder', () => {
    expect(
      problems(
        '// src/apps/idp.ts, packages/redis, src/client.ts, ./url.ts, ../pipeline/call.js, docs/tokens.md',
      ),
    ).toEqual([]);
  });

  it('flags paths that do not exist and design documents that are not in the repository', () => {
    expect(problems('// see src/auth/token-manager.ts and ARCHITECTURE.md, ./gone.ts')).toEqual([
      'src/auth/token-manager.ts',
      'ARCHITECTURE.md',
      './gone.ts',
    ]);
    expect(problems('// ../shared/design/STYLE.md, shared/design/')).toEqual([
      '../shared/design/STYLE.md',
      'shared/design/',
    ]);
    expect(problems("// import from 'steadfast/redis', not 'steadfast/options'")).toEqual([
      'steadfast/redis',
    ]);
  });

  it('flags issue numbers', () => {
    expect(problems('// (issue 10 item 2), fixes #7, issues 3, not #fff or a&#39;')).toEqual([
      'issue 10',
      '#7',
      'issues 3',
    ]);
  });

  it('reads only comments, not strings or code', () => {
    const text = "const a = 'src/nowhere.ts'; // really src/gone.ts\n/* and #7 */ const b = /x/;";
    expect(commentsOf('x.ts', text).map((c) => c.text)).toEqual([
      '// really src/gone.ts',
      '/* and #7 */',
    ]);
  });
});

/**
 * `npm run bench [-- name ...]`: runs every benchmark file in bench/ (or only those named,
 * e.g. `npm run bench -- macro micro`), each in its own Node process with `--expose-gc`,
 * one after the other so they do not compete for the CPU. Prints what each prints.
 *
 * A benchmark file is any `bench/*.ts` except this runner, the server and the chart; helpers
 * that are imported but not meant to run alone belong in a sub-folder.
 *
 * The benchmarks measure the built package (dist/), what users run, so this builds it first.
 * (Not the TypeScript sources through tsx: tsx compiles with esbuild's `keepNames`, which adds
 * a `__name()` call to every closure created — measured at +0.1× raw undici's CPU per request
 * on the client's path, a cost the published package does not have.) After `macro`, the
 * chart (bench/chart.svg) is redrawn from its results.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const NOT_BENCHMARKS = new Set(['run.ts', 'server.ts', 'chart.ts']);

const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !NOT_BENCHMARKS.has(f))
  .sort();

const wanted = process.argv.slice(2).map((a) => basename(a, '.ts'));
const unknown = wanted.filter((w) => !available.includes(`${w}.ts`));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark(s): ${unknown.join(', ')}; available: ${available.map((f) => basename(f, '.ts')).join(', ')}\n`,
  );
  process.exit(2);
}
const files = wanted.length > 0 ? wanted.map((w) => `${w}.ts`) : available;

process.stdout.write('building dist/ (npm run build)\n');
const build = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) {
  process.stderr.write('npm run build failed: the benchmarks measure dist/\n');
  process.exit(1);
}

let failed = 0;
for (const file of files) {
  process.stdout.write(`\n## ${basename(file, '.ts')}\n`);
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, file)], {
    stdio: 'inherit',
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  if (result.status !== 0) {
    failed++;
    process.stdout.write(
      `\n${file} failed (exit ${result.status ?? result.signal}) after ${seconds} s\n`,
    );
  } else {
    process.stdout.write(`\n(${file}: ${seconds} s)\n`);
    if (file === 'macro.ts') {
      spawnSync(process.execPath, ['--import', 'tsx', join(here, 'chart.ts')], {
        stdio: 'inherit',
      });
    }
  }
}
process.exit(failed > 0 ? 1 : 0);

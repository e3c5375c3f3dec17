import { readFileSync } from 'node:fs';

const KIT_PACKAGE = '@steadfast/kit';

/**
 * The kit's version, from its `package.json`: the nearest one named `@steadfast/kit` above
 * this file, whether it runs from `dist/cli/` (installed or built) or from `src/cli/` (tsx).
 * `0.0.0-unknown` if none is found (a bundler that dropped the file, say).
 */
export function kitVersion(): string {
  let dir = new URL('.', import.meta.url);
  for (let depth = 0; depth < 4; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === KIT_PACKAGE && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no readable package.json at this level: keep walking up
    }
    dir = new URL('..', dir);
  }
  return '0.0.0-unknown';
}

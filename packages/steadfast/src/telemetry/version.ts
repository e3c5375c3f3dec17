import { readFileSync } from 'node:fs';

/** The package name: the tracer name and the scope of every span. */
export const PACKAGE_NAME = 'steadfast';

/**
 * The installed package version (`steadfast_build_info{version}`, the tracer version).
 * Read once from the nearest `package.json` named `steadfast`, whether this file runs from
 * `src/` (tests) or `dist/` (published). `0.0.0-unknown` if it cannot be found.
 */
export const PACKAGE_VERSION: string = (() => {
  let dir = new URL('.', import.meta.url);
  for (let depth = 0; depth < 5; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json at this level: keep walking up
    }
    dir = new URL('..', dir);
  }
  return '0.0.0-unknown';
})();

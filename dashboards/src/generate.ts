// Writes the generated dashboards to dashboards/*.json.
//   node --import tsx dashboards/src/generate.ts          write the files
//   node --import tsx dashboards/src/generate.ts --check  exit 1 if a committed file differs
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFleetDashboard, DASHBOARD_FILE } from './fleet.js';

export const DASHBOARDS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** File name → exact file content (pretty JSON, trailing newline). */
export function renderDashboards(): Map<string, string> {
  return new Map([[DASHBOARD_FILE, `${JSON.stringify(buildFleetDashboard(), null, 2)}\n`]]);
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  let drift = 0;
  for (const [file, content] of renderDashboards()) {
    const path = join(DASHBOARDS_DIR, file);
    if (check) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        // missing counts as drift
      }
      if (current !== content) {
        drift++;
        console.error(`${path} is out of date: run node --import tsx dashboards/src/generate.ts`);
      }
    } else {
      writeFileSync(path, content);
      console.log(`wrote ${path}`);
    }
  }
  return drift === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}

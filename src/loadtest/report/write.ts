import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadtestReport } from '../run.js';
import { htmlReport } from './html.js';

/** Write `<name>.json` and `<name>.html` into `dir` (created if missing); returns their paths. */
export async function writeReports(
  report: LoadtestReport,
  dir: string,
  name: string,
): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, `${name}.json`);
  const html = join(dir, `${name}.html`);
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(html, htmlReport(report));
  return { json, html };
}

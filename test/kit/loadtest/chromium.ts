import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Chromium binary, or an error naming the Debian package to install. Never skips. */
export function chromiumPath(): string {
  for (const candidate of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    'headless Chromium is required to render the HTML report: install the Debian package "chromium" (apt-get update && apt-get install -y chromium)',
  );
}

function flags(profile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--hide-scrollbars',
    `--user-data-dir=${profile}`,
  ];
}

/** Render `htmlFile` in headless Chromium and save a PNG screenshot of `width`×`height`. */
export async function screenshot(
  htmlFile: string,
  pngFile: string,
  width = 1200,
  height = 900,
): Promise<void> {
  const profile = mkdtempSync(join(tmpdir(), 'steadfast-chromium-'));
  try {
    await run(
      chromiumPath(),
      [
        ...flags(profile),
        `--screenshot=${pngFile}`,
        `--window-size=${width},${height}`,
        `file://${htmlFile}`,
      ],
      { timeout: 60_000 },
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The DOM after the page's scripts ran (`--dump-dom`). */
export async function renderedDom(htmlFile: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'steadfast-chromium-'));
  try {
    const { stdout } = await run(
      chromiumPath(),
      [...flags(profile), '--dump-dom', `file://${htmlFile}`],
      {
        timeout: 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

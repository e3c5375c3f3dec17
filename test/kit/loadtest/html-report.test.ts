import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeReports } from '../../../src/loadtest/report/write.js';
import type { LoadtestReport } from '../../../src/loadtest/run.js';
import { chromiumPath, renderedDom, screenshot } from './chromium.js';
import { decodePng, inkStats } from './png.js';
import { run, tempDir } from './support.js';

const dir = tempDir('html-report');
let report: LoadtestReport;
let files: { json: string; html: string };

beforeAll(async () => {
  report = await run([
    '--compare',
    'none,standard',
    '--phases',
    'healthy:1s,storm:1.5s,outage:1s',
    '--rate',
    '80',
    '--duration',
    '3.5s',
    '--seed',
    '2',
    '--time-factor',
    '0.02',
  ]);
  files = await writeReports(report, dir, 'report');
}, 60_000);

describe('the HTML report', () => {
  it('is self-contained: no external scripts, styles or fetches', () => {
    const html = readFileSync(files.html, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain('none vs standard');
  });

  it('draws its charts in headless Chromium (four per policy)', async () => {
    chromiumPath(); // fails, naming the package, when Chromium is missing
    const dom = await renderedDom(files.html);
    expect(dom).toContain('data-charts-drawn="8"');
    // Bars and lines were drawn, not just empty frames.
    expect((dom.match(/<rect /g) ?? []).length).toBeGreaterThan(50);
    expect(dom).toMatch(/<path d="M[\d.]+ [\d.]+L/);
  });

  it('renders to a non-blank screenshot with the chart colours in it', async () => {
    const png = join(dir, 'report.png');
    await screenshot(files.html, png);
    const image = decodePng(readFileSync(png));
    expect(image.width).toBe(1200);
    expect(image.height).toBeGreaterThan(800);
    const whole = inkStats(image);
    expect(whole.colours).toBeGreaterThan(50);
    expect(whole.nonWhite / whole.pixels).toBeGreaterThan(0.03);
    // The lower half holds charts: it must have ink too, not just the table above.
    const lower = inkStats(image, Math.floor(image.height / 2));
    expect(lower.nonWhite / lower.pixels).toBeGreaterThan(0.02);
  });

  it('matches the JSON report written next to it', () => {
    const json = JSON.parse(readFileSync(files.json, 'utf8')) as LoadtestReport;
    expect(json.runs.map((r) => r.summary.policy)).toEqual(['none', 'standard']);
    expect(json.runs[0]!.summary.calls).toBe(report.runs[0]!.summary.calls);
    const html = readFileSync(files.html, 'utf8');
    expect(html).toContain(`"calls":${report.runs[1]!.summary.calls}`);
  });
});

/**
 * Draw bench/chart.svg from the latest macro run (bench/results/macro.json): client CPU per
 * request and throughput of every contender, as ratios to raw undici in the same run.
 * Run: `node --import tsx bench/chart.ts` after `npm run bench -- macro`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { median } from '../src/loadtest/percentile.js';

interface Row {
  readonly name: string;
  readonly reqPerSec: number;
  readonly cpuUsPerReq: number;
  readonly cpuPerRound: number[];
}
interface MacroRun {
  readonly date: string;
  readonly node: string;
  readonly options: { requests: number; rounds: number; concurrency: number };
  readonly rows: Row[];
}

const here = new URL('.', import.meta.url);
const run = JSON.parse(readFileSync(new URL('results/macro.json', here), 'utf8')) as MacroRun;
const base = run.rows[0]!;
const rows = run.rows.map((r) => ({
  name: r.name,
  // As bench/macro.ts reports it: each round's ratio to raw undici in that round, the median.
  cpu: median(r.cpuPerRound.map((c, i) => c / base.cpuPerRound[i]!)),
  throughput: r.reqPerSec / base.reqPerSec,
}));

const LABEL_W = 330;
const BAR_W = 300;
const ROW_H = 26;
const TOP = 70;
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function panel(x: number, title: string, values: number[], max: number, colour: string): string {
  const parts = [`<text x="${x}" y="${TOP - 12}" font-weight="bold">${title}</text>`];
  values.forEach((v, i) => {
    const y = TOP + i * ROW_H;
    const w = Math.max(1, (v / max) * BAR_W);
    parts.push(
      `<rect x="${x}" y="${y}" width="${w.toFixed(1)}" height="${ROW_H - 8}" fill="${colour}"/>`,
    );
    parts.push(`<text x="${x + w + 6}" y="${y + ROW_H - 12}">${v.toFixed(2)}×</text>`);
  });
  const one = x + (1 / max) * BAR_W;
  parts.push(
    `<line x1="${one}" y1="${TOP - 4}" x2="${one}" y2="${TOP + values.length * ROW_H}" stroke="#333" stroke-dasharray="3,3"/>`,
  );
  return parts.join('\n');
}

const cpuMax = Math.max(...rows.map((r) => r.cpu));
const tpMax = Math.max(1, ...rows.map((r) => r.throughput));
const height = TOP + rows.length * ROW_H + 40;
const width = LABEL_W + 2 * (BAR_W + 80);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
<title>Steadfast and its peers: client CPU per request and throughput, as ratios to raw undici</title>
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="16" font-weight="bold">Loopback macro benchmark: ratios to raw undici in the same run (lower CPU, higher throughput is better)</text>
<text x="10" y="42" fill="#555">${escapeXml(`${run.date} · Node ${run.node} · ${run.options.requests} requests × ${run.options.rounds} rounds · concurrency ${run.options.concurrency}`)}</text>
${rows.map((r, i) => `<text x="10" y="${TOP + i * ROW_H + ROW_H - 12}">${escapeXml(r.name)}</text>`).join('\n')}
${panel(
  LABEL_W,
  'client CPU per request ÷ raw undici',
  rows.map((r) => r.cpu),
  cpuMax,
  '#d9534f',
)}
${panel(
  LABEL_W + BAR_W + 80,
  'requests/s ÷ raw undici',
  rows.map((r) => r.throughput),
  tpMax,
  '#5b8def',
)}
</svg>
`;
writeFileSync(new URL('chart.svg', here), svg);
console.log(`wrote bench/chart.svg (${rows.length} rows, run of ${run.date})`);

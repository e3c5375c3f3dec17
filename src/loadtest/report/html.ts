import type { LoadtestReport } from '../run.js';
import { rowsFor } from './terminal.js';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The report as one self-contained HTML file: the comparison table, and charts over time
 * (latency percentiles, attempts per second by outcome, breaker state, token-endpoint
 * requests, and, when the demo API had a quota, what it accepted and refused; when a policy has
 * one of the newer strategies, what they did per second, and the adaptive limit) drawn as
 * inline SVG by inline script from the embedded JSON. No network needed.
 */
export function htmlReport(report: LoadtestReport): string {
  const runs = report.runs.map((r) => r.summary);
  const table = [
    `<tr><th></th>${runs.map((s) => `<th title="${escapeHtml(s.description)}">${escapeHtml(s.policy)}</th>`).join('')}</tr>`,
    ...rowsFor(runs).map(
      ([label, show]) =>
        `<tr><td>${escapeHtml(label)}</td>${runs.map((s) => `<td>${escapeHtml(show(s))}</td>`).join('')}</tr>`,
    ),
  ].join('\n');
  const c = report.config;
  const model =
    c.model.kind === 'open'
      ? `open model, ${c.model.ratePerSecond} calls/s`
      : `closed model, ${c.model.concurrency} concurrent`;
  const length = c.durationMs !== undefined ? `${c.durationMs / 1000} s` : `${c.calls} calls`;
  const phases = c.phases.length
    ? c.phases.map((p) => `${p.profile} ${(p.durationMs / 1000).toFixed(1)} s`).join(' → ')
    : '';
  const data = JSON.stringify(report).replace(/</g, '\\u003c');
  const title = `Steadfast load test: ${runs.map((s) => s.policy).join(' vs ')}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body{font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:16px 24px;color:#1f2933;background:#fff}
h1{font-size:20px;margin:0 0 4px}
.meta{color:#52606d;margin-bottom:10px}
.meta code{background:#f0f4f8;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;margin:6px 0 14px}
th,td{padding:3px 12px;border-bottom:1px solid #e4e7eb;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left;color:#52606d}
th{background:#f5f7fa}
.warn{color:#b44d12;font-weight:600}
h2{font-size:14px;margin:10px 0 2px}
.row{display:flex;gap:10px}
.panel{flex:1;min-width:0}
.panel .name{font-weight:600;font-size:12px;color:#334e68}
svg{display:block;width:100%;height:auto}
.legend{font-size:11px;color:#52606d}
.legend span{display:inline-block;margin-right:10px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:3px;vertical-align:-1px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<div class="meta">${escapeHtml(c.target)} · ${escapeHtml(model)} · ${escapeHtml(length)} · seed ${c.seed} · time factor ${c.timeFactor} · ${c.workers} worker process${c.workers > 1 ? 'es' : ''}${phases ? ` · phases: ${escapeHtml(phases)}` : ''}<br>
<code>${escapeHtml(report.command)}</code> · ${escapeHtml(report.startedAt)}
${report.interrupted ? '<br><span class="warn">Interrupted (Ctrl-C): the figures cover what ran.</span>' : ''}</div>
<table>${table}</table>
<div id="charts"></div>
<script type="application/json" id="report-data">${data}</script>
<script>
${CHART_SCRIPT}
</script>
</body></html>
`;
}

/** Inline chart code: plain SVG, no library, no network. */
const CHART_SCRIPT = String.raw`
(function () {
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var runs = report.runs;
  var phases = report.config.phases;
  var NS = 'http://www.w3.org/2000/svg';
  var W = 380, H = 150, L = 44, R = 8, T = 8, B = 22;
  var COLORS = { '2xx': '#3ebd93', '401': '#9446ed', '429': '#f0b429', '5xx': '#e12d39',
    network: '#1f2933', timeout: '#7b8794', cancelled: '#62b0e8', other: '#bcccdc' };
  var LAT = { p50: '#2186eb', p95: '#f0b429', p99: '#e12d39' };
  // Phase backgrounds by meaning: calm is grey, faults warm, auth trouble violet, down red.
  var PHASE_FILL = { healthy: '#f5f7fa', flaky: '#fffbea', storm: '#fff3e6', 'auth-storm': '#f2ebfe', outage: '#ffe8e8', quota: '#fdf6e3', tail: '#e3f8ff', capacity: '#effcf6', overload: '#fff3e6' };
  var OTHER_FILL = ['#e3f8ff', '#effcf6', '#fdf6e3'];
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, s, attrs) {
    var t = el('text', Object.assign({ x: x, y: y, 'font-size': 10, fill: '#52606d' }, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function nice(max) {
    if (!(max > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(max)));
    var m = max / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function fmt(v) {
    if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + 'k';
    return v >= 10 || v === 0 ? String(Math.round(v)) : v.toFixed(1);
  }
  var span = Math.max.apply(null, runs.map(function (r) {
    var s = r.series; return s.t.length * s.bucketMs;
  }).concat([1]));
  function frame(panel, yMax, opts) {
    opts = opts || {};
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H }, panel);
    var x = function (t) { return L + (W - L - R) * t / span; };
    var y = opts.log
      ? function (v) { var lo = Math.log10(opts.logMin), hi = Math.log10(yMax);
          return T + (H - T - B) * (1 - (Math.log10(Math.max(v, opts.logMin)) - lo) / (hi - lo)); }
      : function (v) { return T + (H - T - B) * (1 - v / yMax); };
    phases.forEach(function (p, i) {
      var x0 = x(p.startMs), x1 = x(Math.min(span, p.startMs + p.durationMs));
      if (x1 <= x0) return;
      el('rect', { x: x0, y: T, width: x1 - x0, height: H - T - B, fill: PHASE_FILL[p.profile] || OTHER_FILL[i % OTHER_FILL.length] }, svg);
      text(svg, x0 + 2, T + 9, p.profile, { 'font-size': 9, fill: '#9aa5b1' });
    });
    var ticks = opts.ticks || (opts.log ? logTicks(opts.logMin, yMax) : [0, yMax / 2, yMax]);
    ticks.forEach(function (v) {
      el('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#e4e7eb' }, svg);
      text(svg, L - 4, y(v) + 3, opts.label ? opts.label(v) : fmt(v), { 'text-anchor': 'end' });
    });
    var step = nice(span / 1000 / 5);
    for (var s = 0; s * 1000 <= span; s += step) {
      text(svg, x(s * 1000), H - 8, s + 's', { 'text-anchor': 'middle' });
    }
    el('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: '#9aa5b1' }, svg);
    return { svg: svg, x: x, y: y };
  }
  function logTicks(lo, hi) {
    var out = [];
    for (var v = lo; v <= hi * 1.0001; v *= 10) out.push(v);
    return out;
  }
  function path(points) {
    var d = '', pen = false;
    points.forEach(function (p) {
      if (p === null) { pen = false; return; }
      d += (pen ? 'L' : 'M') + p[0].toFixed(1) + ' ' + p[1].toFixed(1);
      pen = true;
    });
    return d;
  }
  function row(title, legend, draw) {
    var root = document.getElementById('charts');
    var h = document.createElement('h2'); h.textContent = title; root.appendChild(h);
    if (legend) {
      var lg = document.createElement('div'); lg.className = 'legend';
      lg.innerHTML = legend.map(function (e) { return '<span><i style="background:' + e[1] + '"></i>' + e[0] + '</span>'; }).join('');
      root.appendChild(lg);
    }
    var r = document.createElement('div'); r.className = 'row'; root.appendChild(r);
    runs.forEach(function (run) {
      var panel = document.createElement('div'); panel.className = 'panel';
      var name = document.createElement('div'); name.className = 'name'; name.textContent = run.summary.policy;
      panel.appendChild(name); r.appendChild(panel);
      draw(panel, run);
    });
  }
  // 1. Latency percentiles per bucket (log scale, shared across policies).
  var latMax = 1;
  runs.forEach(function (r) { ['p50', 'p95', 'p99'].forEach(function (k) {
    r.series[k].forEach(function (v) { if (v !== null && v > latMax) latMax = v; }); }); });
  latMax = Math.pow(10, Math.ceil(Math.log10(latMax)));
  row('Latency from intended start (ms, log scale)', [['p50', LAT.p50], ['p95', LAT.p95], ['p99', LAT.p99]], function (panel, run) {
    var f = frame(panel, latMax, { log: true, logMin: 1 });
    ['p50', 'p95', 'p99'].forEach(function (k) {
      var s = run.series;
      el('path', { d: path(s[k].map(function (v, i) {
        return v === null ? null : [f.x(s.t[i] + s.bucketMs / 2), f.y(v)]; })),
        fill: 'none', stroke: LAT[k], 'stroke-width': 1.6 }, f.svg);
    });
  });
  // 2. Attempts per second by outcome, stacked.
  var classes = ['2xx', '401', '429', '5xx', 'network', 'timeout', 'cancelled', 'other'];
  var attMax = 1;
  runs.forEach(function (r) { r.series.t.forEach(function (_, i) {
    var sum = 0; classes.forEach(function (c) { sum += r.series.attemptsPerSecond[c][i]; });
    if (sum > attMax) attMax = sum; }); });
  attMax = nice(attMax);
  row('Wire attempts per second, by outcome', classes.map(function (c) { return [c, COLORS[c]]; }), function (panel, run) {
    var f = frame(panel, attMax);
    var s = run.series, base = s.t.map(function () { return 0; });
    var bw = (f.x(s.bucketMs) - f.x(0));
    classes.forEach(function (c) {
      s.attemptsPerSecond[c].forEach(function (v, i) {
        if (!v) return;
        el('rect', { x: f.x(s.t[i]), width: Math.max(bw - 0.5, 0.5), y: f.y(base[i] + v),
          height: f.y(base[i]) - f.y(base[i] + v), fill: COLORS[c] }, f.svg);
        base[i] += v;
      });
    });
  });
  // 3. Breaker state.
  row('Circuit breaker state (worst in each interval)', [['closed', '#3ebd93'], ['half-open', '#f0b429'], ['open', '#e12d39']], function (panel, run) {
    var names = ['closed', 'half', 'open'];
    var f = frame(panel, 2, { ticks: [0, 1, 2], label: function (v) { return names[v]; } });
    var s = run.series, fill = ['#3ebd93', '#f0b429', '#e12d39'];
    var bw = (f.x(s.bucketMs) - f.x(0));
    s.breakerState.forEach(function (v, i) {
      el('rect', { x: f.x(s.t[i]), width: Math.max(bw, 0.5), y: f.y(v) - 3, height: 6, fill: fill[v] }, f.svg);
    });
    if (!run.summary.breakerTransitions.length) text(f.svg, (W + L) / 2, T + 40, run.summary.policy.indexOf('standard') === 0 ? 'no transitions' : 'no breaker in this policy', { 'text-anchor': 'middle', 'font-size': 11 });
  });
  // 4. Token-endpoint requests per second.
  var tokMax = 1;
  runs.forEach(function (r) { r.series.tokenFetches.forEach(function (v) {
    var ps = v * 1000 / r.series.bucketMs; if (ps > tokMax) tokMax = ps; }); });
  tokMax = nice(tokMax);
  row('Token-endpoint requests per second', null, function (panel, run) {
    var f = frame(panel, tokMax);
    var s = run.series, bw = (f.x(s.bucketMs) - f.x(0));
    s.tokenFetches.forEach(function (v, i) {
      if (!v) return;
      var ps = v * 1000 / s.bucketMs;
      el('rect', { x: f.x(s.t[i]), width: Math.max(bw - 0.5, 0.5), y: f.y(ps), height: f.y(0) - f.y(ps), fill: '#9446ed' }, f.svg);
    });
    var total = run.summary.tokenRequests.idp !== undefined && run.summary.tokenRequests.idp !== null ? run.summary.tokenRequests.idp : run.summary.tokenRequests.client;
    text(f.svg, W - R - 2, T + 10, 'total ' + total, { 'text-anchor': 'end', 'font-size': 11, fill: '#334e68' });
  });
  // 5. The API's own count per second (accepted by its quota, 429s): only when it had a quota.
  var quotaRuns = runs.filter(function (r) { return r.summary.api && r.summary.api.quotaPerSecond > 0 && r.series.api; });
  if (quotaRuns.length) {
    var apiMax = 1;
    quotaRuns.forEach(function (r) { if (r.summary.api.quotaPerSecond > apiMax) apiMax = r.summary.api.quotaPerSecond; });
    runs.forEach(function (r) { if (!r.series.api) return; r.series.t.forEach(function (_, i) {
      var sum = r.series.api.accepted[i] + r.series.api.rateLimited[i]; if (sum > apiMax) apiMax = sum; }); });
    apiMax = nice(apiMax);
    row("The API's own count per second: accepted by its quota, and 429s answered", [['accepted', COLORS['2xx']], ['429', COLORS['429']]], function (panel, run) {
      var f = frame(panel, apiMax);
      var s = run.series;
      if (!s.api) return;
      var bw = (f.x(s.bucketMs) - f.x(0));
      s.t.forEach(function (_, i) {
        var a = s.api.accepted[i], l = s.api.rateLimited[i];
        if (a) el('rect', { x: f.x(s.t[i]), width: Math.max(bw - 0.5, 0.5), y: f.y(a), height: f.y(0) - f.y(a), fill: COLORS['2xx'] }, f.svg);
        if (l) el('rect', { x: f.x(s.t[i]), width: Math.max(bw - 0.5, 0.5), y: f.y(a + l), height: f.y(a) - f.y(a + l), fill: COLORS['429'] }, f.svg);
      });
      if (run.summary.api && run.summary.api.quotaPerSecond > 0) {
        var q = run.summary.api.quotaPerSecond;
        el('line', { x1: L, x2: W - R, y1: f.y(q), y2: f.y(q), stroke: '#334e68', 'stroke-dasharray': '4 3' }, f.svg);
        text(f.svg, W - R - 2, f.y(q) - 3, 'quota ' + q + '/s', { 'text-anchor': 'end', 'font-size': 10, fill: '#334e68' });
      }
    });
  }
  // 6. What the newer strategies did per second: only when some run's did something.
  var STRATEGY = { hedges: ['hedges sent', '#2186eb'], fallbacks: ['fallbacks served', '#3ebd93'], throttled: ['throttled in the client', '#f0b429'] };
  var kinds = Object.keys(STRATEGY);
  var strategyRuns = runs.filter(function (r) { return kinds.some(function (k) {
    return r.series.strategiesPerSecond[k].some(function (v) { return v > 0; }); }); });
  if (strategyRuns.length) {
    var stMax = 1;
    runs.forEach(function (r) { kinds.forEach(function (k) {
      r.series.strategiesPerSecond[k].forEach(function (v) { if (v > stMax) stMax = v; }); }); });
    stMax = nice(stMax);
    row('The strategies per second: hedges sent, fallbacks served, attempts throttled', kinds.map(function (k) { return STRATEGY[k]; }), function (panel, run) {
      var f = frame(panel, stMax);
      var s = run.series;
      kinds.forEach(function (k) {
        el('path', { d: path(s.strategiesPerSecond[k].map(function (v, i) {
          return [f.x(s.t[i] + s.bucketMs / 2), f.y(v)]; })),
          fill: 'none', stroke: STRATEGY[k][1], 'stroke-width': 1.6 }, f.svg);
      });
      if (!run.summary.strategies.length) text(f.svg, (W + L) / 2, T + 40, 'none in this policy', { 'text-anchor': 'middle', 'font-size': 11 });
      else if (strategyRuns.indexOf(run) < 0) text(f.svg, (W + L) / 2, T + 40, 'none', { 'text-anchor': 'middle', 'font-size': 11 });
    });
  }
  // 7. The adaptive concurrency limit over time: only when it moved in some run.
  var limitRuns = runs.filter(function (r) { return r.series.adaptiveLimit; });
  if (limitRuns.length) {
    var limMax = 1;
    limitRuns.forEach(function (r) { r.series.adaptiveLimit.forEach(function (v) { if (v !== null && v > limMax) limMax = v; }); });
    limMax = nice(limMax);
    row('Adaptive concurrency limit (summed over processes)', null, function (panel, run) {
      var f = frame(panel, limMax);
      var s = run.series;
      if (!s.adaptiveLimit) {
        text(f.svg, (W + L) / 2, T + 40, 'fixed limit', { 'text-anchor': 'middle', 'font-size': 11 });
        return;
      }
      el('path', { d: path(s.adaptiveLimit.map(function (v, i) {
        return v === null ? null : [f.x(s.t[i] + s.bucketMs / 2), f.y(v)]; })),
        fill: 'none', stroke: '#9446ed', 'stroke-width': 1.6 }, f.svg);
    });
  }
  document.body.setAttribute('data-charts-drawn', String(document.querySelectorAll('#charts svg').length));
})();
`;

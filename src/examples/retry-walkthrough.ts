#!/usr/bin/env node
/**
 * A runnable walkthrough of the pipeline: a local scripted flaky server, and the client
 * calling it. Prints each wire attempt, each retry delay and its source, and each outcome.
 * Run: `npm run example` (after `npm ci`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, isSteadfastError } from 'steadfast';

type Step = { status: number; headers?: Record<string, string> } | 'reset';

/** Each scenario: what the server answers, attempt by attempt. */
const scenarios: { title: string; method?: string; script: Step[] }[] = [
  {
    title: 'transient 503s, then success',
    script: [{ status: 503 }, { status: 503 }, { status: 200 }],
  },
  {
    title: '429 with Retry-After: 1 (seconds)',
    script: [{ status: 429, headers: { 'retry-after': '1' } }, { status: 200 }],
  },
  { title: 'connection reset, then success', script: ['reset', { status: 200 }] },
  { title: '404 is not transient: no retry', script: [{ status: 404 }] },
  {
    title: 'POST + 503 is ambiguous: not retried',
    method: 'POST',
    script: [{ status: 503 }, { status: 200 }],
  },
];

let script: Step[] = [];
const server = http.createServer((req, res) => {
  req.resume();
  const step = script.shift() ?? { status: 200 };
  if (step === 'reset') {
    req.socket.destroy();
    return;
  }
  res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
  res.end(JSON.stringify({ status: step.status }));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

const client = createClient({
  name: 'walkthrough',
  baseUrl: `http://127.0.0.1:${port}`,
  retry: { baseDelayMs: 200, maxDelayMs: 2_000 },
  telemetry: { metrics: false, tracing: false },
});
const t0 = { value: 0 };
const at = () => `${String(Math.round(performance.now() - t0.value)).padStart(5)} ms`;
client.events.attemptEnd.event(({ attempt, outcome, durationMs }) => {
  const what =
    outcome.kind === 'response'
      ? `HTTP ${outcome.response.status}`
      : (outcome.error as { code?: string }).code;
  console.log(`  ${at()}  attempt ${attempt + 1}: ${what} (${durationMs.toFixed(1)} ms)`);
});
client.events.retry.event(({ delayMs, delaySource, reason }) => {
  console.log(
    `  ${at()}  retry after ${Math.round(delayMs)} ms (${delaySource}, reason ${reason})`,
  );
});
client.events.retryGiveUp.event(({ reason }) => console.log(`  ${at()}  not retried: ${reason}`));

for (const scenario of scenarios) {
  console.log(`\n${scenario.title}`);
  script = [...scenario.script];
  t0.value = performance.now();
  try {
    const res = await client.fetch('/weatherforecast', { method: scenario.method ?? 'GET' });
    await res.arrayBuffer();
    console.log(`  ${at()}  outcome: HTTP ${res.status}`);
  } catch (error) {
    console.log(`  ${at()}  outcome: ${isSteadfastError(error) ? error.code : String(error)}`);
  }
}

await client.close();
server.close();

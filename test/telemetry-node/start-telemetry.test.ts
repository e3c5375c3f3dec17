import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const APP = fileURLToPath(new URL('./fixtures/telemetry-app.ts', import.meta.url));

/** A loopback OTLP/HTTP (JSON) trace receiver. */
let receiver: Server;
let endpoint: string;
const received: unknown[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') received.push(JSON.parse(Buffer.concat(chunks).toString()));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

interface ExportedSpans {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: { name: string }[] }[];
  }[];
}

async function runApp(env: Record<string, string>, signal: NodeJS.Signals) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', APP], {
    env: {
      PATH: process.env.PATH ?? '',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // Only the flush at shutdown can deliver the span.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`app exited early (${code}): ${stderr}`)));
  });
  const before = received.length;
  child.kill(signal);
  const [code, exitSignal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, exitSignal, exports: received.slice(before) as ExportedSpans[], stderr };
}

function serviceNames(exports: ExportedSpans[]): string[] {
  return exports.flatMap((e) =>
    e.resourceSpans.map(
      (r) => r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '',
    ),
  );
}

function spanNames(exports: ExportedSpans[]): string[] {
  return exports.flatMap((e) =>
    e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((x) => x.name))),
  );
}

describe('startTelemetry', () => {
  it('exports over OTLP as the OTEL_* variables say, flushes on SIGTERM, then ends by the signal', async () => {
    const run = await runApp(
      {
        OTEL_SERVICE_NAME: 'worker-from-env',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
      },
      'SIGTERM',
    );

    expect(spanNames(run.exports)).toEqual(['work before the signal']);
    expect(serviceNames(run.exports)).toEqual(['worker-from-env']);
    expect(JSON.stringify(run.exports)).toContain('deployment.environment.name');
    expect(run.exitSignal).toBe('SIGTERM');
  });

  it('uses the serviceName option when the environment names no service, and flushes on SIGINT', async () => {
    const run = await runApp({}, 'SIGINT');

    expect(spanNames(run.exports)).toEqual(['work before the signal']);
    expect(serviceNames(run.exports)).toEqual(['name-from-option']);
    expect(run.exitSignal).toBe('SIGINT');
  });
});

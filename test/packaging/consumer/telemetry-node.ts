// `@steadfast/telemetry-node`: the OpenTelemetry Node SDK starts from the OTEL_* environment,
// a client call is traced (traceparent on the wire), and shutdown flushes the spans to an
// OTLP/HTTP endpoint (a loopback server standing in for the collector).
import { startTelemetry } from '@steadfast/telemetry-node';
import { createClient } from 'steadfast';
import { json, serve } from './loopback.js';

const exports: string[] = [];
const collector = await serve((req, res) => {
  exports.push(`${req.method} ${req.url}`);
  req.resume();
  req.on('end', () => json(res, 200, {}));
});
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url;
const shutdown = await startTelemetry({ serviceName: 'consumer', handleSignals: false });
const api = await serve((req, res) => json(res, 200, { traceparent: req.headers.traceparent }));
const client = createClient({ name: 'consumer-telemetry', baseUrl: api.url });
try {
  const body = await client.getJson<{ traceparent?: string }>('/traced');
  await client.close();
  await shutdown();
  console.log(JSON.stringify({ traceparent: body.traceparent ?? null, exports }));
} finally {
  await client.close();
  await api.close();
  await collector.close();
}

/**
 * Shared set-up of the telemetry tests: a real OpenTelemetry SDK tracer provider with the
 * in-memory exporter, the async-hooks context manager and the W3C propagator; a loopback
 * token endpoint issuing known tokens; helpers to read spans and expositions.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, type SpanContext, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeAll } from 'vitest';
import { parsePrometheusText, type Sample } from '../../../src/apps/demo/prometheus-text.js';
import {
  type Script,
  type ScriptedServer,
  startScriptedServer,
} from '../../helpers/http-server.js';

export interface Tracing {
  readonly provider: BasicTracerProvider;
  readonly exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  reset(): void;
}

/**
 * A real SDK tracer provider, exporting to memory. The context manager and propagator are
 * registered globally (the API needs them for `context.with` and `propagation.inject`);
 * the provider is registered globally too when `global` is set (instrumentations use it).
 */
export function setUpTracing(options: { global?: boolean } = {}): Tracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (options.global) trace.setGlobalTracerProvider(provider);
  return {
    provider,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
  };
}

export function parentIdOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

export function isChildOf(span: ReadableSpan, parent: { spanContext(): SpanContext }): boolean {
  const p = parent.spanContext();
  return span.parentSpanContext?.spanId === p.spanId && span.spanContext().traceId === p.traceId;
}

/** A loopback OAuth2 token endpoint issuing `prefix-1`, `prefix-2`, ... */
export interface TokenServer {
  readonly url: string;
  readonly issued: string[];
  /** Authorization headers the token endpoint received (they carry the client secret). */
  readonly authorizations: string[];
  /** Every request's headers, in order. */
  readonly headers: IncomingHttpHeaders[];
  /** The port the token endpoint listens on. */
  readonly port: number;
  close(): Promise<void>;
}

export async function startTokenServer(prefix: string, delayMs = 0): Promise<TokenServer> {
  const issued: string[] = [];
  const authorizations: string[] = [];
  const headers: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    authorizations.push(req.headers.authorization ?? '');
    headers.push(req.headers);
    req.resume();
    req.on('end', () => {
      const token = `${prefix}-${issued.length + 1}`;
      issued.push(token);
      const body = JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 });
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      }, delayMs);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token`,
    issued,
    authorizations,
    headers,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type { Sample } from '../../../src/apps/demo/prometheus-text.js';

/** The samples of an exposition the SDK rendered: a line the parser cannot read fails the test. */
export function parseExposition(text: string): Sample[] {
  return parsePrometheusText(text, { strict: true });
}

/** The value of the one sample matching `name` and every label in `labels` (undefined if none). */
export function sampleValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) {
    throw new Error(`${found.length} samples match ${name} ${JSON.stringify(labels)}`);
  }
  return found[0]?.value;
}

/** Retries that keep the suite fast: constant 1 ms, no jitter, no budget. */
export { FAST_RETRY } from '../support.js';

/**
 * The per-file harness of the telemetry tests: tracing set up once; after each test the
 * servers, token servers and whatever was given to `onCleanup` are closed (last first) and
 * the finished spans are dropped.
 */
export function useTelemetryHarness() {
  let tracing: Tracing | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(() => {
    tracing = setUpTracing();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    tracing?.reset();
  });
  const onCleanup = (cleanup: () => Promise<void>): void => {
    cleanups.push(cleanup);
  };
  return {
    get tracing(): Tracing {
      if (!tracing) throw new Error('tracing is set up in beforeAll: use it inside a test');
      return tracing;
    },
    onCleanup,
    async server(script: Script = []): Promise<ScriptedServer> {
      const server = await startScriptedServer(script);
      onCleanup(() => server.close());
      return server;
    },
    async tokenServer(prefix: string, delayMs = 0): Promise<TokenServer> {
      const server = await startTokenServer(prefix, delayMs);
      onCleanup(() => server.close());
      return server;
    },
  };
}

/**
 * What the per-call benchmarks of the layers share (bench/admission.ts, bench/strategies.ts):
 * the client's whole pipeline built from options around a transport that answers at once, the
 * two telemetry settings timed, and a call as the client builds it.
 */
import { buildCallPipeline, type CallPipeline } from '../packages/steadfast/dist/call-pipeline.js';
import { resolveOptions } from '../packages/steadfast/dist/config/validate.js';
import { emptyBody } from '../packages/steadfast/dist/http/body.js';
import type { ClientOptions } from '../packages/steadfast/dist/index.js';
import { Call } from '../packages/steadfast/dist/pipeline/call.js';
import { ClientEvents } from '../packages/steadfast/dist/pipeline/client-events.js';
import type { Next } from '../packages/steadfast/dist/pipeline/types.js';

export const ORIGIN = 'http://127.0.0.1:8080';

/** The telemetry settings each configuration is timed with. */
export const TELEMETRY = [
  { name: 'on', telemetry: undefined }, // the default: metrics on, tracing (no provider)
  { name: 'off', telemetry: { metrics: false, tracing: false } as const },
] as const;

export type TelemetrySetting = (typeof TELEMETRY)[number]['name'];

/** The pipeline of a client `name` with `options`, its transport answering with `answer`. */
export function noopPipeline(
  name: string,
  options: Omit<ClientOptions, 'name'>,
  telemetry: ClientOptions['telemetry'],
  answer: Next,
): { readonly events: ClientEvents; readonly pipeline: CallPipeline } {
  const events = new ClientEvents();
  const resolved = resolveOptions({
    name,
    ...(telemetry ? { telemetry } : {}),
    ...options,
  } as ClientOptions);
  const transport = { execute: answer, inflight: 0, close: async () => {} };
  return { events, pipeline: buildCallPipeline(resolved, events, transport) };
}

/** A call as the client builds it for `client.fetch('/weather')` against its baseUrl. */
export function newCall(client: string): Call {
  return new Call({
    client,
    method: 'GET',
    url: undefined,
    origin: ORIGIN,
    path: '/weather',
    operation: 'GET',
    headers: {},
    body: emptyBody,
    maxResponseBytes: 32 * 1024 * 1024,
    signal: undefined,
    idempotent: true,
  });
}

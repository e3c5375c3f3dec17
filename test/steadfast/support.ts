/**
 * Shared set-up for the core client tests: scripted servers and clients that are closed
 * after each test, fast retry settings, and a recorder of the client's typed events.
 */
import { afterEach } from 'vitest';
import { createClient } from '../../packages/steadfast/src/index.js';
import type {
  BreakerRejectedEvent,
  BreakerTransitionEvent,
  LimiterEvent,
  RetryEvent,
  RetryGiveUpEvent,
  TimeoutEvent,
} from '../../packages/steadfast/src/pipeline/events.js';
import {
  type Script,
  type ScriptedServer,
  type ScriptedServerOptions,
  startScriptedServer,
} from '../helpers/http-server.js';

export type ClientOptions = Parameters<typeof createClient>[0];
export type Client = ReturnType<typeof createClient>;

/**
 * Retry settings that keep the suite fast: constant 1 ms backoff without jitter, no budget
 * (tests about the budget turn it on). Spread and override per test.
 */
export const FAST_RETRY = {
  maxRetries: 3,
  backoff: 'constant',
  jitter: false,
  baseDelayMs: 1,
  budget: false,
} as const;

export const NO_TELEMETRY = { metrics: false, tracing: false } as const;

/** Servers and clients created here are closed after each test. */
export function useHarness() {
  const servers: ScriptedServer[] = [];
  const clients: Client[] = [];
  afterEach(async () => {
    const closing = Promise.allSettled(clients.splice(0).map((c) => c.close()));
    // A client whose close() waits on a stalled response body must not hang the suite
    // (lifecycle.test.ts tests close() itself): after 2 s the servers go, which ends it.
    await Promise.race([closing, sleep(2_000)]);
    await Promise.allSettled(servers.splice(0).map((s) => s.close()));
    await closing;
  });
  return {
    async server(script?: Script, options?: ScriptedServerOptions): Promise<ScriptedServer> {
      const server = await startScriptedServer(script, options);
      servers.push(server);
      return server;
    },
    /** A client with fast retries, no telemetry; `options` override the defaults given here. */
    client(baseUrl: string, options: Partial<ClientOptions> = {}): Client {
      const client = createClient({
        name: 'test',
        baseUrl,
        retry: FAST_RETRY,
        telemetry: NO_TELEMETRY,
        ...options,
      } as ClientOptions);
      clients.push(client);
      return client;
    },
  };
}

/** Everything the client's strategies announced, in order. */
export interface RecordedEvents {
  retries: RetryEvent[];
  giveUps: RetryGiveUpEvent[];
  timeouts: TimeoutEvent[];
  transitions: BreakerTransitionEvent[];
  breakerRejections: BreakerRejectedEvent[];
  limiter: LimiterEvent[];
}

export function recordEvents(client: Client): RecordedEvents {
  const recorded: RecordedEvents = {
    retries: [],
    giveUps: [],
    timeouts: [],
    transitions: [],
    breakerRejections: [],
    limiter: [],
  };
  client.events.retry.event((e) => recorded.retries.push(e));
  client.events.retryGiveUp.event((e) => recorded.giveUps.push(e));
  client.events.timeout.event((e) => recorded.timeouts.push(e));
  client.events.breakerTransition.event((e) => recorded.transitions.push(e));
  client.events.breakerRejected.event((e) => recorded.breakerRejections.push(e));
  client.events.limiter.event((e) => recorded.limiter.push(e));
  return recorded;
}

/** The rejection of a promise that must reject (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    return error;
  }
  throw new Error(
    `expected a rejection, got ${value instanceof Response ? `a ${value.status} Response` : String(value)}`,
  );
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

import { AsyncLocalStorage } from 'node:async_hooks';
import { IncomingBody } from '../../http/incoming-body.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import { abortedOutcome } from '../../pipeline/outcomes.js';
import type { CallContext, Next, Outcome, Strategy } from '../../pipeline/types.js';
import type { ChaosFault, FaultRequest, ResolvedChaosOptions } from './types.js';

export type { ChaosFault, ChaosOptions, FaultRequest, ResolvedChaosOptions } from './types.js';

/** Marker header on every injected response, so logs and tests can tell it from a real one. */
export const INJECTED_HEADER_VALUE = 'injected';

/** A network error the chaos strategy made up: `code` is `ECONNRESET`, `injected` is true. */
export class InjectedNetworkError extends Error {
  readonly code = 'ECONNRESET';
  readonly injected = true;
  constructor() {
    super('read ECONNRESET (injected by steadfast chaos)');
    this.name = 'InjectedNetworkError';
  }
}

const faultContext = new AsyncLocalStorage<FaultRequest>();

/**
 * Run `fn` with a fault requested for every call it makes (the "context flag"): the calls
 * of clients that have `chaos` enabled get the fault; other clients are untouched.
 *
 * @example
 * await withInjectedFault('401', () => client.fetch('/weatherforecast')); // rehearse a 401
 * await withInjectedFault({ fault: '503', times: 1 }, () => client.fetch('/x')); // retried once
 */
export function withInjectedFault<T>(request: ChaosFault | FaultRequest, fn: () => T): T {
  const value = typeof request === 'string' ? { fault: request } : request;
  if (parseFault(value.fault) === undefined) {
    throw new TypeError(`withInjectedFault: unknown fault ${JSON.stringify(value.fault)}`);
  }
  return faultContext.run(value, fn);
}

const FAULTS: readonly ChaosFault[] = ['latency', 'reset', '503', '429', '401'];

function parseFault(value: string): ChaosFault | undefined {
  if (value === 'ECONNRESET') return 'reset';
  return (FAULTS as readonly string[]).includes(value) ? (value as ChaosFault) : undefined;
}

/**
 * Parse a chaos header value: `503`, `429`, `401`, `reset`, `latency`, `latency=250`,
 * each optionally followed by `*N`. Returns `undefined` for anything else.
 */
export function parseFaultHeader(value: string): FaultRequest | undefined {
  const match = /^\s*([A-Za-z0-9]+)(?:=(\d{1,7}))?(?:\s*\*\s*(\d{1,4}))?\s*$/.exec(value);
  if (!match) return undefined;
  const fault = parseFault(match[1]!.toLowerCase() === 'econnreset' ? 'reset' : match[1]!);
  if (fault === undefined) return undefined;
  if (match[2] !== undefined && fault !== 'latency') return undefined;
  return {
    fault,
    ...(match[2] !== undefined ? { latencyMs: Number(match[2]) } : {}),
    ...(match[3] !== undefined ? { times: Number(match[3]) } : {}),
  };
}

/** Per-call state: the header's request survives the header being stripped on attempt 0. */
interface CallChaos {
  readonly request: FaultRequest | undefined;
  injected: number;
}

const CALL_SLOT = Symbol('steadfast.chaos');

/**
 * The chaos strategy. Opt-in through `createClient({ chaos: {...} })`; see `ChaosOptions`.
 * It never touches a call that no trigger selects: one header lookup and, when rates are
 * set, one or two random draws per attempt.
 */
export class Chaos implements Strategy {
  readonly name = 'chaos';
  readonly #outcomeRates: number;

  constructor(
    private readonly settings: ResolvedChaosOptions,
    private readonly events: ClientEvents,
  ) {
    this.#outcomeRates =
      settings.serviceUnavailableRate +
      settings.rateLimitRate +
      settings.unauthorizedRate +
      settings.resetRate;
  }

  async execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const requested = this.#requested(ctx);
    if (requested) return this.#inject(ctx, next, requested.fault, requested.latencyMs);

    const s = this.settings;
    if (s.latencyRate > 0 && s.random() < s.latencyRate) {
      if (this.events.faultInjected.hasListeners)
        this.events.faultInjected.emit({ ctx, fault: 'latency' });
      const aborted = await this.#delay(ctx, s.latencyMs);
      if (aborted) return aborted;
    }
    if (this.#outcomeRates > 0) {
      let draw = s.random();
      const shares: [ChaosFault, number][] = [
        ['reset', s.resetRate],
        ['429', s.rateLimitRate],
        ['401', s.unauthorizedRate],
        ['503', s.serviceUnavailableRate],
      ];
      for (const [fault, share] of shares) {
        if (draw < share) return this.#inject(ctx, next, fault, undefined);
        draw -= share;
      }
    }
    return next(ctx);
  }

  /** A fault asked for by the header (first attempt reads and strips it) or the context. */
  #requested(ctx: CallContext): FaultRequest | undefined {
    let state = ctx.slots.get(CALL_SLOT) as CallChaos | undefined;
    if (state === undefined) {
      let request: FaultRequest | undefined;
      const header = this.settings.header;
      if (header !== false) {
        const value = ctx.headers[header];
        if (value !== undefined) {
          delete ctx.headers[header]; // never sent downstream
          request = parseFaultHeader(value);
          if (request === undefined) {
            process.emitWarning(
              `steadfast chaos: ignoring ${header}: ${JSON.stringify(value.slice(0, 40))} (expected 503, 429, 401, reset, latency[=ms], optionally *N)`,
              'SteadfastChaosWarning',
            );
          }
        }
      }
      request ??= faultContext.getStore();
      state = { request, injected: 0 };
      ctx.slots.set(CALL_SLOT, state);
    }
    const request = state.request;
    if (request === undefined) return undefined;
    if (request.times !== undefined && state.injected >= request.times) return undefined;
    state.injected++;
    return request;
  }

  async #inject(
    ctx: CallContext,
    next: Next,
    fault: ChaosFault,
    latencyMs: number | undefined,
  ): Promise<Outcome> {
    if (this.events.faultInjected.hasListeners) this.events.faultInjected.emit({ ctx, fault });
    switch (fault) {
      case 'latency': {
        const aborted = await this.#delay(ctx, latencyMs ?? this.settings.latencyMs);
        return aborted ?? next(ctx);
      }
      case 'reset':
        return { kind: 'error', error: new InjectedNetworkError() };
      case '429':
        return injectedResponse(429, {
          'retry-after': String(this.settings.retryAfterSeconds),
        });
      case '401':
        return injectedResponse(401, {
          'www-authenticate':
            'Bearer error="invalid_token", error_description="injected by steadfast chaos"',
        });
      default:
        return injectedResponse(503, {});
    }
  }

  /** Wait, unless the attempt is cut short (attempt timeout or caller abort): then its outcome. */
  async #delay(ctx: CallContext, ms: number): Promise<Outcome | undefined> {
    const signal = ctx.attemptSignal ?? ctx.signal;
    if (signal?.aborted) return abortOutcome(ctx, signal);
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve(abortOutcome(ctx, signal!));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(undefined);
      }, ms);
      signal?.addEventListener('abort', onAbort);
    });
  }
}

function abortOutcome(ctx: CallContext, signal: { readonly reason: unknown }): Outcome {
  // The attempt-timeout strategy turns an error after its own timer into a TimeoutError.
  if (ctx.signal?.aborted) return abortedOutcome(ctx);
  const reason = signal.reason;
  return { kind: 'error', error: reason instanceof Error ? reason : new Error('aborted') };
}

function injectedResponse(status: number, headers: Record<string, string>): Outcome {
  const body = Buffer.from(JSON.stringify({ error: 'injected by steadfast chaos', status }));
  return {
    kind: 'response',
    response: {
      status,
      headers: {
        'content-type': 'application/json',
        'content-length': String(body.length),
        'x-steadfast-chaos': INJECTED_HEADER_VALUE,
        ...headers,
      },
      body: IncomingBody.of(body, 'application/json'),
    },
  };
}

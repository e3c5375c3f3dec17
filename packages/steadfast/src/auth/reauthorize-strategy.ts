import { ClientClosedError } from '../errors.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import type { ReauthorizeEvent } from '../pipeline/events.js';
import { callerAbortError, timeoutError } from '../pipeline/outcomes.js';
import { onAbort } from '../pipeline/signals.js';
import type { CallContext, Next, Outcome, Strategy } from '../pipeline/types.js';
import type { AuthCircuit } from './auth-circuit.js';
import type { Dpop } from './dpop/dpop.js';
import type { LocalToken, TokenManager } from './token-manager/index.js';
import type { TokenManagers } from './token-managers.js';
import { claimsChallenge, decideOnChallenges, parseWwwAuthenticate } from './www-authenticate.js';

/** Settings of the re-authorization strategy. */
export interface ReauthorizeOptions {
  /** Re-sends after a 401 per call. Default: 1. */
  readonly maxReauthorizations: number;
  /** A token younger than this (ms) that is rejected on a re-send counts toward the auth circuit. Default: 30 000. */
  readonly minTokenAgeMs: number;
  /** DPoP (RFC 9449): a proof per attempt and the servers' nonces (dpop/dpop.ts). */
  readonly dpop?: Dpop | undefined;
}

/**
 * The re-authorization layer of call-pipeline.ts: attach `Authorization` per attempt and
 * handle 401s, with the token the call needs (`ctx.token`: the credential's own, or another
 * scope / resource / audience, each its own manager). On a 401 that means "bad token"
 * (`invalid_token`, no error code, or anything not understood) it invalidates exactly the
 * token that attempt carried and re-sends at zero delay, at most `maxReauthorizations`
 * times, only when the body can be replayed. A claims challenge (`insufficient_claims`) does
 * the same with a token requested with the claims it names. `insufficient_scope` goes back
 * as is, and evicts nothing. Emits `reauthorize` on the client's events.
 */
export function createReauthorizeStrategy(
  managers: TokenManagers,
  circuit: AuthCircuit,
  options: ReauthorizeOptions,
  events: ClientEvents,
): Strategy {
  const emit = (event: ReauthorizeEvent) => events.reauthorize.emit(event);
  /** Aborted by `dispose()` (the client's `close()`): calls waiting for a token end at once. */
  const closing = new AbortController();

  return {
    name: 'reauthorize',
    async execute(ctx: CallContext, next: Next): Promise<Outcome> {
      let reauthorizations = 0;
      let avoid: string | undefined;
      /** DPoP: this call has re-sent once for a server's nonce. */
      let resentForNonce = false;
      /** The claims the last claims challenge asked for. */
      let claims: string | undefined;
      let manager: TokenManager;
      try {
        manager = managers.for(ctx.token);
      } catch (error) {
        return { kind: 'error', error: error as Error };
      }
      for (;;) {
        let token: LocalToken;
        try {
          token =
            manager.peek() ?? (await bounded(manager.acquire(avoid, claims), ctx, closing.signal));
          if (token.fingerprint === avoid)
            token = await bounded(manager.acquire(avoid, claims), ctx, closing.signal);
        } catch (error) {
          return { kind: 'error', error: error as Error };
        }
        ctx.headers.authorization = `${token.type} ${token.value}`;
        options.dpop?.attach(ctx, token); // DPoP: this attempt's own proof
        const outcome = await next(ctx);
        // The attempt has been sent: events and telemetry that read ctx afterwards must not
        // find the token. A re-send (here or by the retry strategy) sets it again.
        delete ctx.headers.authorization;
        if (options.dpop) {
          // DPoP: the proof goes too; a nonce challenge is re-sent once, the token kept.
          options.dpop.detach(ctx);
          const nonce = options.dpop.afterAttempt(ctx, outcome, resentForNonce);
          if (nonce !== undefined) {
            emit({
              ctx,
              rejectedFingerprint: token.fingerprint,
              newerTokenPresent: false,
              resent: nonce === 'resend',
              dpopNonce: true,
              ...(nonce === 'return'
                ? {
                    skippedBecause: resentForNonce ? 'max_reauthorizations' : 'body_not_replayable',
                  }
                : {}),
            });
          }
          if (nonce === 'return') return outcome;
          if (nonce === 'resend') {
            await (outcome as Outcome & { kind: 'response' }).response.body.dump();
            resentForNonce = true;
            ctx.attempt += 1;
            continue;
          }
        }
        if (outcome.kind !== 'response' || outcome.response.status !== 401) return outcome;

        const rejectedFingerprint = token.fingerprint;
        const challenges = parseWwwAuthenticate(outcome.response.headers['www-authenticate']);
        const decision = decideOnChallenges(challenges);
        const wanted = claimsChallenge(challenges);
        const base = {
          ctx,
          rejectedFingerprint,
          newerTokenPresent: false,
          ...(wanted === undefined ? {} : { claimsChallenge: true }),
        };
        if (decision === 'insufficient_scope') {
          emit({ ...base, resent: false, skippedBecause: 'insufficient_scope' });
          return outcome;
        }
        if (circuit.isOpen()) {
          emit({ ...base, resent: false, skippedBecause: 'auth_circuit_open' });
          return outcome;
        }
        if (reauthorizations > 0 && Date.now() - token.issuedAt < options.minTokenAgeMs) {
          circuit.recordFreshTokenRejected();
          if (circuit.isOpen()) {
            // Keep the token: fetching another one is exactly what the circuit prevents.
            emit({ ...base, resent: false, skippedBecause: 'auth_circuit_open' });
            return outcome;
          }
        }
        const result = await manager.invalidate(rejectedFingerprint);
        const newerTokenPresent = result === 'newer_present';
        if (reauthorizations >= options.maxReauthorizations) {
          emit({
            ...base,
            newerTokenPresent,
            resent: false,
            skippedBecause: 'max_reauthorizations',
          });
          return outcome;
        }
        if (!ctx.body.replayable) {
          emit({
            ...base,
            newerTokenPresent,
            resent: false,
            skippedBecause: 'body_not_replayable',
          });
          return outcome;
        }
        emit({ ...base, newerTokenPresent, resent: true });
        await outcome.response.body.dump(); // frees the connection; never rejects
        reauthorizations += 1;
        avoid = rejectedFingerprint;
        claims = wanted;
        ctx.attempt += 1;
      }
    },
    dispose(): void {
      closing.abort();
    },
  };
}

/** Wait for a token no longer than the call's deadline, the caller's abort or the client's close. */
function bounded<T>(promise: Promise<T>, ctx: CallContext, closing: AbortSignal): Promise<T> {
  if (closing.aborted)
    return Promise.reject(new ClientClosedError(ctx.client, ctx.method, ctx.url));
  if (ctx.signal?.aborted) return Promise.reject(callerAbortError(ctx));
  const finite = Number.isFinite(ctx.deadline);
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      clearTimeout(timer);
      forgetCaller?.();
      forgetClosing();
    };
    // Many calls may wait for one token at once: `onAbort` lifts the listener limit.
    const forgetCaller = ctx.signal
      ? onAbort(ctx.signal, () => {
          cleanup();
          reject(callerAbortError(ctx));
        })
      : undefined;
    const forgetClosing = onAbort(closing, () => {
      cleanup();
      reject(new ClientClosedError(ctx.client, ctx.method, ctx.url));
    });
    if (finite) {
      timer = setTimeout(
        () => {
          cleanup();
          reject(timeoutError(ctx, 'total'));
        },
        Math.max(0, ctx.deadline - performance.now()),
      );
    }
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error) => {
        cleanup();
        reject(error);
      },
    );
  });
}

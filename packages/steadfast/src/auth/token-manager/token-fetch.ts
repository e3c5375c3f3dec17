import type { TokenUnavailableError } from '../../errors.js';
import { TokenEndpointError } from '../errors.js';
import type { FetchTrigger, TokenFetchStartEvent } from '../events.js';
import { tokenFingerprint } from '../fingerprint.js';
import type { BackoffApplied, StoredToken, StoreReadResult } from '../store/types.js';
import type { TokenResponse } from '../token-response.js';
import { usable } from './local-cache.js';
import { refreshTiming } from './timing.js';
import type { LocalToken, ManagerParts } from './types.js';

/**
 * One token-endpoint request and what follows it: the fetch events, the lifetime check,
 * the backoff after a failure (fleet-wide when we hold the lease), and, on success, the
 * publication under our fence and L1.
 */
export class TokenFetch {
  readonly #parts: ManagerParts;

  constructor(parts: ManagerParts) {
    this.#parts = parts;
  }

  /** The lease holder's fetch: re-read the store first, then fetch and publish under `fence`. */
  async asHolder(
    trigger: FetchTrigger,
    fence: number,
    avoid: string | undefined,
    claims?: string,
  ): Promise<LocalToken> {
    const { config, guard, owner, cache, backoff } = this.#parts;
    // Double-check: the previous holder may have published a token, or failed and started
    // a backoff, between our read and our lease.
    let read: StoreReadResult | undefined;
    try {
      read = await guard.run((store) => store.read(config.key));
    } catch {
      // Store gone mid-way: fetch anyway, keep the token locally.
    }
    if (read !== undefined) {
      const fresh =
        usable(read, avoid) && read.ttlMs > cache.softWindowOf(read.token) ? read.token : undefined;
      if (fresh !== undefined || read.backoffMs > 0) {
        await guard.run((store) => store.release(config.key, owner)).catch(() => {});
        if (fresh !== undefined) return cache.hold(fresh, read.ttlMs, false);
        throw backoff.fleetBackoff(read.backoffMs, read.backoffReason);
      }
    }
    return this.fetch(trigger, fence, claims);
  }

  /**
   * Call the token endpoint. `fence` 0 = the store is not involved (down, or local mode);
   * `claims`: the claims a claims challenge asked for.
   */
  async fetch(trigger: FetchTrigger, fence: number, claims?: string): Promise<LocalToken> {
    const { config, guard, owner, cache, backoff } = this.#parts;
    backoff.throwIfActive();
    const { events, credential, clock } = config;
    const start: TokenFetchStartEvent = { credential, trigger };
    events.fetchStart.emit(start);
    const startedAt = clock.now();
    const issuedAt = clock.wallNow();
    let response: TokenResponse;
    try {
      response = await this.#requestToken(start, claims);
    } catch (error) {
      const failure =
        error instanceof TokenEndpointError
          ? error
          : new TokenEndpointError({
              errorType: '_OTHER',
              kind: 'retryable',
              detail: 'token request failed',
            });
      events.fetchEnd.emit({
        credential,
        trigger,
        result: 'failure',
        errorType: failure.errorType,
        durationMs: clock.now() - startedAt,
        fingerprint: undefined,
      });
      throw await this.#backOff(failure, fence > 0);
    }
    const elapsed = clock.now() - startedAt;
    const fingerprint = tokenFingerprint(response.accessToken);
    const timing = refreshTiming(response.lifetimeMs, config.timing);
    // Count the lifetime from when the request was sent: the token aged while it travelled.
    const ttlMs = response.lifetimeMs - elapsed - timing.hardSkewMs;
    if (ttlMs <= 0) {
      const failure = new TokenEndpointError({
        errorType: 'malformed_response',
        kind: 'malformed_response',
        detail: `the token's lifetime of ${Math.round(response.lifetimeMs)} ms is used up before it can be sent`,
      });
      events.fetchEnd.emit({
        credential,
        trigger,
        result: 'failure',
        errorType: failure.errorType,
        durationMs: elapsed,
        fingerprint: undefined,
      });
      throw await this.#backOff(failure, fence > 0);
    }
    backoff.succeeded();
    events.fetchEnd.emit({
      credential,
      trigger,
      result: 'success',
      errorType: undefined,
      durationMs: elapsed,
      fingerprint,
    });
    const record: StoredToken = {
      value: response.accessToken,
      fingerprint,
      type: response.tokenType,
      issuedAt,
      lifetimeMs: response.lifetimeMs,
      generation: fence,
      // DPoP, key shared through the store: the key travels with its token.
      ...(response.dpopKey !== undefined ? { dpopKey: response.dpopKey } : {}),
    };
    let published = false;
    if (fence > 0) {
      published = await guard
        .run((store) => store.publish(config.key, owner, fence, record, ttlMs))
        .catch(() => false);
    }
    return cache.hold(record, ttlMs, fence === 0 || !published);
  }

  /** `fetchToken`, inside the scopes telemetry may have registered (none: a plain call). */
  async #requestToken(start: TokenFetchStartEvent, claims?: string): Promise<TokenResponse> {
    const { events, fetchToken } = this.#parts.config;
    // The scope handler sees the event only; the response stays here.
    let response: TokenResponse | undefined;
    await events.fetchScope.run(start, async () => {
      response = await fetchToken(claims);
    });
    return response!;
  }

  /**
   * Start the backoff and return the caller's error. The lease holder counts the failure
   * in the store, which sets the fleet-wide backoff for the fleet's count of consecutive
   * failures: whoever holds the lease next continues the sequence. Without the store the
   * count is this instance's own.
   */
  async #backOff(failure: TokenEndpointError, holder: boolean): Promise<TokenUnavailableError> {
    const { config, guard, owner, backoff } = this.#parts;
    const policy = backoff.policyFor(failure);
    let applied: BackoffApplied | undefined;
    if (holder) {
      applied = await guard
        .run((store) => store.backoff(config.key, owner, failure.errorType, policy))
        .catch(() => undefined);
    }
    return backoff.failed(failure, policy, applied);
  }
}

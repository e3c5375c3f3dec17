import type { CallContext, Outcome } from '../../pipeline/types.js';
import type { LocalToken } from '../token-manager/types.js';
import { parseWwwAuthenticate } from '../www-authenticate.js';
import { type DpopKey, exportDpopKey, SharedKeys } from './dpop-key.js';
import type { DpopConfig } from './dpop-options.js';
import { signDpopProof } from './dpop-proof.js';
import { NonceMemory, nonceOf } from './nonce-memory.js';

/** The `DPoP` request header (RFC 9449 §4.1), lower-case as `ctx.headers` has them. */
export const DPOP_HEADER = 'dpop';
/** What the proof of this attempt carried: its nonce and its {@link NonceMemory} ticket. */
const PROOF_SENT = Symbol('steadfast.dpop.sent');
/** The nonce a `use_dpop_nonce` 401 gave this call: its re-send signs with it. */
const CHALLENGE_NONCE = Symbol('steadfast.dpop.challenge');

interface ProofSent {
  readonly nonce: string | undefined;
  readonly ticket: number;
}

/** What the 401 path does after a DPoP attempt. */
export type DpopAttemptDecision =
  /** The server asked for a nonce it has now given: re-send at once, the token is fine. */
  | 'resend'
  /** The server asked for a nonce, and a re-send cannot help (or is not allowed): return the 401. */
  | 'return'
  /** Not a nonce challenge: the 401 path goes on as for any token. */
  | undefined;

/**
 * DPoP for one authorization (RFC 9449): the proofs of its token requests and of every
 * wire attempt, the nonces its servers gave (by origin), and which key signs for which
 * token. A token shared through the store carries its key (`dpopKey`, the private JWK,
 * encrypted at rest); a token without one was bound to this instance's own key.
 */
export class Dpop {
  readonly #key: DpopKey;
  readonly #nonces = new NonceMemory();
  readonly #keys = new SharedKeys();
  /** Store mode: this instance's key as it travels with the tokens it fetches. */
  readonly #shared: string | undefined;
  readonly #credentialPart: string;

  constructor(config: DpopConfig) {
    this.#key = config.key;
    this.#shared = config.mode === 'store' ? exportDpopKey(config.key) : undefined;
    // A key the fleet does not share names its credential: another key, another token.
    this.#credentialPart = config.mode === 'store' ? 'dpop' : `dpop:${config.key.thumbprint}`;
  }

  /**
   * Part of the credential key: DPoP tokens never mix with Bearer ones, and a token bound
   * to a key only this instance holds (or only holders of the given key) is stored under
   * that key's thumbprint.
   */
  get credentialPart(): string {
    return this.#credentialPart;
  }

  /** The private JWK to store with a token this instance fetched (store mode only). */
  get sharedKey(): string | undefined {
    return this.#shared;
  }

  /** RFC 7638 thumbprint of this instance's key (the `dpop_jkt` / `cnf.jkt` of its tokens). */
  get thumbprint(): string {
    return this.#key.thumbprint;
  }

  // ---- token requests (RFC 9449 §5)

  /**
   * A proof for one token request: `POST` to `endpoint`, with `nonce` (a re-send's, from the
   * server's challenge) or else its server's last nonce if known.
   */
  tokenRequestProof(endpoint: string, challenged?: string): ProofSent & { readonly proof: string } {
    const nonce = challenged ?? this.#nonces.get(new URL(endpoint).origin);
    const ticket = this.#nonces.ticket();
    const proof = signDpopProof(
      { htm: 'POST', url: endpoint, nonce, nowMs: Date.now() },
      this.#key,
    );
    return { proof, nonce, ticket };
  }

  /**
   * The token endpoint answered: remember its `DPoP-Nonce`. When it is a 400
   * `use_dpop_nonce` (RFC 9449 §8) and the nonce to use is other than the one the proof
   * carried, that nonce: one re-send with it will do. The one this answer gives comes first:
   * the server asked this request for it (the memory may hold an older one, from a request
   * sent later but answered before a rotation).
   */
  tokenAnswer(
    endpoint: string,
    sent: ProofSent,
    status: number,
    nonceHeader: string | string[] | undefined,
    body: string | undefined,
  ): string | undefined {
    const origin = new URL(endpoint).origin;
    this.#nonces.remember(origin, nonceHeader, sent.ticket);
    if (status !== 400 || body === undefined || !/"use_dpop_nonce"/.test(body)) return undefined;
    let error: unknown;
    try {
      error = (JSON.parse(body) as { error?: unknown }).error;
    } catch {
      return undefined;
    }
    const nonce = nonceOf(nonceHeader) ?? this.#nonces.get(origin);
    return error === 'use_dpop_nonce' && nonce !== undefined && nonce !== sent.nonce
      ? nonce
      : undefined;
  }

  // ---- wire attempts (RFC 9449 §7)

  /**
   * Put a fresh proof for this attempt on `ctx.headers` (with `ath` of the token, the
   * attempt's method and URL, the server's nonce). Only a `DPoP` token gets one: a server
   * that issued a Bearer token (it does not do DPoP) gets none.
   */
  attach(ctx: CallContext, token: LocalToken): void {
    if (token.type !== 'DPoP') {
      delete ctx.headers[DPOP_HEADER];
      return;
    }
    const challenged = ctx.slots.get(CHALLENGE_NONCE) as string | undefined;
    ctx.slots.delete(CHALLENGE_NONCE);
    const nonce = challenged ?? this.#nonces.get(ctx.origin);
    ctx.slots.set(PROOF_SENT, { nonce, ticket: this.#nonces.ticket() } satisfies ProofSent);
    ctx.headers[DPOP_HEADER] = signDpopProof(
      { htm: ctx.method, url: ctx.url, nonce, accessToken: token.value, nowMs: Date.now() },
      this.#keyOf(token),
    );
  }

  /** The attempt has been sent: the proof leaves `ctx` (nothing that reads it later finds it). */
  detach(ctx: CallContext): void {
    delete ctx.headers[DPOP_HEADER];
  }

  /**
   * After an attempt: remember the server's `DPoP-Nonce` (any response may carry one) and
   * say whether a 401 is a nonce challenge (`WWW-Authenticate: DPoP error="use_dpop_nonce"`,
   * RFC 9449 §9) to answer with one re-send, at once, keeping the token, signed with the
   * nonce this challenge gives (the memory may hold an older one: under load a request sent
   * later can be answered before the rotation). `resentForNonce`: this call already did that
   * once.
   */
  afterAttempt(ctx: CallContext, outcome: Outcome, resentForNonce: boolean): DpopAttemptDecision {
    if (outcome.kind !== 'response') return undefined;
    const sent = ctx.slots.get(PROOF_SENT) as ProofSent | undefined;
    ctx.slots.delete(PROOF_SENT);
    const { headers, status } = outcome.response;
    // A Bearer attempt (no proof) takes a ticket now: it was sent after every proof so far.
    this.#nonces.remember(ctx.origin, headers['dpop-nonce'], sent?.ticket ?? this.#nonces.ticket());
    if (status !== 401) return undefined;
    const challenges = parseWwwAuthenticate(headers['www-authenticate']);
    if (!challenges.some((c) => c.scheme === 'dpop' && c.params.error === 'use_dpop_nonce')) {
      return undefined;
    }
    const nonce = nonceOf(headers['dpop-nonce']) ?? this.#nonces.get(ctx.origin);
    const fresh = nonce !== undefined && nonce !== sent?.nonce;
    if (!fresh || resentForNonce || !ctx.body.replayable) return 'return';
    ctx.slots.set(CHALLENGE_NONCE, nonce);
    return 'resend';
  }

  /** The key `token` is bound to: the one it came with from the store, else this instance's. */
  #keyOf(token: LocalToken): DpopKey {
    if (token.dpopKey === undefined || token.dpopKey === this.#shared) return this.#key;
    return this.#keys.read(token.dpopKey) ?? this.#key;
  }
}

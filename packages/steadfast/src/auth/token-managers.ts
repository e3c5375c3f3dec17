import { TokenUnavailableError } from '../errors.js';
import type { TokenSelector } from '../pipeline/types.js';
import type { TokenManager } from './token-manager/index.js';

/** What makes one token of a credential differ from another: what the token request asks for. */
export interface TokenTarget {
  readonly scopes: readonly string[];
  readonly resource: string | undefined;
  readonly audience: string | undefined;
}

/**
 * Distinct tokens one credential may hold at once. A selector comes from code (a call's or a
 * derived client's `token`), so a few are expected; a selector built from request data would
 * grow the map, the timers and the store keys without bound, and is refused past this.
 */
export const MAX_TOKENS_PER_CREDENTIAL = 64;

/**
 * The token managers of one credential, one per token it is asked for: its own (scope,
 * resource, audience as configured) and one per other combination a call names. Each has its
 * own credential key, so its own L1 entry, store key, lease and invalidations: a 401 for one
 * never evicts another. A selector object seen before costs one WeakMap lookup.
 */
export class TokenManagers {
  readonly #own: TokenManager;
  readonly #base: TokenTarget;
  readonly #create: (target: TokenTarget) => TokenManager;
  readonly #credential: string;
  readonly #byTarget = new Map<string, TokenManager>();
  readonly #bySelector = new WeakMap<TokenSelector, TokenManager>();

  constructor(
    credential: string,
    base: TokenTarget,
    create: (target: TokenTarget) => TokenManager,
  ) {
    this.#credential = credential;
    this.#base = base;
    this.#create = create;
    this.#own = create(base);
    this.#byTarget.set(targetName(base), this.#own);
  }

  /** The credential's own token manager. */
  get own(): TokenManager {
    return this.#own;
  }

  /** The manager of the token `selector` names; the credential's own without one. */
  for(selector: TokenSelector | undefined): TokenManager {
    if (selector === undefined) return this.#own;
    const known = this.#bySelector.get(selector);
    if (known !== undefined) return known;
    const base = this.#base;
    const target: TokenTarget = {
      scopes: selector.scopes ?? base.scopes,
      resource: selector.resource ?? base.resource,
      audience: selector.audience ?? base.audience,
    };
    const name = targetName(target);
    let manager = this.#byTarget.get(name);
    if (manager === undefined) {
      if (this.#byTarget.size >= MAX_TOKENS_PER_CREDENTIAL) {
        throw new TokenUnavailableError(
          this.#credential,
          'too_many_tokens',
          `a credential holds at most ${MAX_TOKENS_PER_CREDENTIAL} distinct tokens (scope, resource, audience); name them in code, not from request data`,
        );
      }
      manager = this.#create(target);
      this.#byTarget.set(name, manager);
    }
    this.#bySelector.set(selector, manager);
    return manager;
  }

  /** Every manager made so far, the credential's own first. */
  all(): IterableIterator<TokenManager> {
    return this.#byTarget.values();
  }
}

/** Scopes in any order and repeated are the same request. */
function targetName(target: TokenTarget): string {
  return JSON.stringify([
    [...new Set(target.scopes)].sort(),
    target.resource ?? null,
    target.audience ?? null,
  ]);
}

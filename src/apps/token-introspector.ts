import { createHash } from 'node:crypto';

/** How the API reaches the IdP's introspection endpoint (RFC 7662). */
export interface IntrospectionOptions {
  /** The introspection endpoint URL. */
  readonly url: string;
  /** The API's own client at the IdP. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** How long an answer (active or not) is reused, in ms. Default: 1500 (1.5 s). */
  readonly cacheTtlMs?: number;
  /** Give up on the IdP after this long, in ms. Default: 2000 (2 s). */
  readonly timeoutMs?: number;
}

/** What the IdP said about a token. */
export interface TokenInfo {
  readonly active: boolean;
  readonly clientId?: string;
  readonly scopes: readonly string[];
  /** Expiry, epoch seconds. */
  readonly exp?: number;
}

/** Counters of the introspection cache. */
export interface IntrospectionStats {
  /** Requests sent to the IdP. */
  readonly requests: number;
  readonly cacheHits: number;
  /** Failed introspection requests (IdP unreachable, non-200). */
  readonly failures: number;
}

/** Thrown when the IdP cannot say whether a token is valid. */
export class IntrospectionUnavailableError extends Error {
  readonly code = 'ERR_INTROSPECTION_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IntrospectionUnavailableError';
  }
}

interface CacheEntry {
  readonly info: TokenInfo;
  readonly cachedUntilMs: number;
}

const MAX_CACHE_ENTRIES = 10_000;

/**
 * Validates bearer tokens by asking the IdP, with a short cache keyed by the token's SHA-256
 * (the token itself is never kept as a key) and one in-flight request per token, so a burst
 * of calls with a new token costs one introspection.
 */
export class TokenIntrospector {
  readonly #options: Required<IntrospectionOptions>;
  readonly #authorization: string;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inFlight = new Map<string, Promise<TokenInfo>>();
  #requests = 0;
  #cacheHits = 0;
  #failures = 0;

  constructor(options: IntrospectionOptions) {
    const cacheTtlMs = options.cacheTtlMs ?? 1_500; // 1.5 s
    const timeoutMs = options.timeoutMs ?? 2_000; // 2 s
    if (!Number.isFinite(cacheTtlMs) || cacheTtlMs < 0 || cacheTtlMs > 60_000) {
      throw new RangeError(`introspection.cacheTtlMs must be in [0, 60000], got ${cacheTtlMs}`);
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
      throw new RangeError(`introspection.timeoutMs must be in [1, 60000], got ${timeoutMs}`);
    }
    new URL(options.url); // throws on a malformed URL, at construction
    this.#options = { ...options, cacheTtlMs, timeoutMs };
    this.#authorization = basicAuthorization(options.clientId, options.clientSecret);
  }

  /** Whether the token is active now, from the cache or the IdP. */
  async inspect(token: string): Promise<TokenInfo> {
    const key = cacheKey(token);
    const cached = this.#cache.get(key);
    if (cached && cached.cachedUntilMs > Date.now()) {
      this.#cacheHits += 1;
      return stillActive(cached.info);
    }
    const pending = this.#inFlight.get(key);
    if (pending) {
      this.#cacheHits += 1;
      return pending;
    }
    const request = this.#introspect(token, key).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, request);
    return request;
  }

  /** Forget what is cached about a token (after revoking it, say). */
  forget(token: string): void {
    this.#cache.delete(cacheKey(token));
  }

  stats(): IntrospectionStats {
    return { requests: this.#requests, cacheHits: this.#cacheHits, failures: this.#failures };
  }

  async #introspect(token: string, key: string): Promise<TokenInfo> {
    this.#requests += 1;
    let body: Record<string, unknown>;
    try {
      const res = await fetch(this.#options.url, {
        method: 'POST',
        headers: {
          authorization: this.#authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`introspection answered ${res.status}`);
      }
      body = (await res.json()) as Record<string, unknown>;
    } catch (error) {
      this.#failures += 1;
      throw new IntrospectionUnavailableError(
        `cannot introspect at ${this.#options.url}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const info: TokenInfo = {
      active: body.active === true,
      scopes: typeof body.scope === 'string' ? body.scope.split(' ').filter(Boolean) : [],
      ...(typeof body.client_id === 'string' ? { clientId: body.client_id } : {}),
      ...(typeof body.exp === 'number' ? { exp: body.exp } : {}),
    };
    if (this.#cache.size >= MAX_CACHE_ENTRIES) {
      // Map keeps insertion order: drop the oldest entry.
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, { info, cachedUntilMs: Date.now() + this.#options.cacheTtlMs });
    return info;
  }
}

/** A cached "active" must not outlive the token's own expiry. */
function stillActive(info: TokenInfo): TokenInfo {
  if (info.active && info.exp !== undefined && info.exp * 1000 <= Date.now()) {
    return { ...info, active: false };
  }
  return info;
}

function cacheKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** RFC 6749 §2.3.1: form-urlencode id and secret before base64. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

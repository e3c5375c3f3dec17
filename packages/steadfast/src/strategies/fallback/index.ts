import type {
  FallbackHandler,
  FallbackTrigger,
  fallbackSchema,
  StaleKey,
} from '../../config/fallback-schema.js';
import type { Resolved } from '../../config/schema.js';
import { FallbackError } from '../../errors.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import { discard } from '../../pipeline/outcomes.js';
import type {
  CallContext,
  Next,
  Outcome,
  Strategy,
  TokenSelector,
  WireResponse,
} from '../../pipeline/types.js';
import { RecordingBody } from './recording-body.js';
import { FALLBACK_HEADER, fromResponse, jsonResponse, staleResponse } from './responses.js';
import { StaleCache, type StaleEntry } from './stale-cache.js';
import { eventTrigger, failureError, triggerOf } from './triggers.js';

export type {
  FallbackHandler,
  FallbackTrigger,
  StaleKey,
} from '../../config/fallback-schema.js';
export { FALLBACK_TRIGGERS } from '../../config/fallback-schema.js';
export type { FallbackOptions, ServeStaleOptions } from './options.js';
export { FALLBACK_HEADER } from './responses.js';

export type ResolvedFallbackOptions = Readonly<Resolved<typeof fallbackSchema>>;
type ServeStale = Exclude<ResolvedFallbackOptions['serveStale'], false>;

/** The answers serve-stale may keep: whole representations (RFC 9110 §15.3), not 206's part. */
const STORABLE_STATUS = new Set([200, 203, 204]);

/**
 * Response headers never kept: hop-by-hop ones (RFC 9110 §7.6.1), those that carry
 * credentials or session state, and the marker a stale answer sets anew (`age` is kept: a
 * stale answer adds its time here to what an upstream cache said).
 */
const DROPPED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-authentication-info',
  'authorization',
  'authentication-info',
  'set-cookie',
  'set-cookie2',
  'cookie',
  FALLBACK_HEADER,
]);

/** Methods whose success changes the resource: they drop the GET and HEAD entries of its URL. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** `key` of a call: not in the cache. */
const NO_KEY = undefined;

/**
 * The fallback layer: when a call fails with a failure `on` names, it answers in its place —
 * with the last good response to the same cache key, if one is young enough (serve stale),
 * else with the handler's answer — and marks the answer (`x-steadfast-fallback`, a `fallback`
 * event). Every other outcome passes as it came. It sits outside the concurrency limit, the
 * deadline and retry, so it answers for a refused call, a timed-out call and a 5xx after every
 * retry; inside the call span and the call events, so they see what the caller gets.
 *
 * Serve stale records the good responses of cacheable calls as their callers read them
 * (`RecordingBody`): a call it cannot cache passes with no wrapping at all.
 */
export class Fallback implements Strategy {
  readonly name = 'fallback';
  readonly #on: ReadonlySet<FallbackTrigger>;
  readonly #handler: FallbackHandler | undefined;
  readonly #stale: ServeStale | undefined;
  readonly #cache: StaleCache | undefined;
  readonly #key: StaleKey | undefined;
  /** The client's own `authorization` and `cookie` headers (the same on every call). */
  readonly #clientAuthorization: string | undefined;
  readonly #clientCookie: string | undefined;
  #closed = false;

  constructor(
    options: ResolvedFallbackOptions,
    private readonly events: ClientEvents,
    clientHeaders: Readonly<Record<string, string>> | undefined,
  ) {
    this.#on = new Set(options.on);
    this.#handler = options.handler;
    const stale = options.serveStale || undefined;
    this.#stale = stale;
    this.#cache = stale && new StaleCache(stale);
    this.#key = stale?.key;
    this.#clientAuthorization = clientHeaders?.authorization;
    this.#clientCookie = clientHeaders?.cookie;
  }

  /** The serve-stale entries held now, and the bytes they count; `undefined` without serve stale. */
  get staleEntries(): { readonly entries: number; readonly bytes: number } | undefined {
    const cache = this.#cache;
    return cache && { entries: cache.size, bytes: cache.bytes };
  }

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    if (this.#cache === undefined) return next(ctx).then((o) => this.#settled(ctx, o, NO_KEY));
    const key = this.#keyOf(ctx);
    return next(ctx).then((o) => this.#settled(ctx, o, key));
  }

  dispose(): void {
    this.#closed = true;
    this.#cache?.clear();
  }

  /** The call's cache key, read as the call starts (before the token is attached). */
  #keyOf(ctx: CallContext): string | undefined {
    const key = this.#key;
    if (key !== undefined) {
      try {
        return key(ctx);
      } catch (error) {
        // A bug in the key function keeps the call out of the cache; it never fails the call.
        process.emitWarning(
          `steadfast: fallback.serveStale.key threw (${(error as Error)?.name ?? typeof error}); the call is not cached`,
          'SteadfastFallbackWarning',
        );
        return NO_KEY;
      }
    }
    const method = ctx.method;
    if (method !== 'GET' && method !== 'HEAD') return NO_KEY;
    // An answer for whoever the call's own credentials name is not for every caller.
    const headers = ctx.headers;
    if (headers.authorization !== undefined && headers.authorization !== this.#clientAuthorization)
      return NO_KEY;
    if (headers.cookie !== undefined && headers.cookie !== this.#clientCookie) return NO_KEY;
    // Another token of the credential (other scopes, resource, audience) may be shown other
    // data: its answers are kept apart from the credential's own token's.
    const token = ctx.token;
    return token === undefined
      ? `${method} ${ctx.origin}${ctx.path}`
      : `${method} ${ctx.origin}${ctx.path} ${tokenName(token)}`;
  }

  #settled(
    ctx: CallContext,
    outcome: Outcome,
    key: string | undefined,
  ): Outcome | Promise<Outcome> {
    const trigger = this.#closed || ctx.signal?.aborted ? undefined : triggerOf(outcome);
    if (trigger === undefined || !this.#on.has(trigger)) {
      return outcome.kind === 'response' && this.#cache !== undefined
        ? this.#answered(ctx, outcome, outcome.response, key)
        : outcome;
    }
    return this.#fallBack(ctx, outcome, trigger, key);
  }

  // ── serve stale: keeping good answers ───────────────────────────────────────────

  /**
   * A response that is not a failure to answer for. A good one for a cache key is recorded
   * as its caller reads it; any other answer that is not a failure drops the key's entry (a
   * newer answer contradicts it); a success of an unsafe method drops its URL's GET and HEAD
   * entries, as an HTTP cache does (RFC 9111 §4.4).
   */
  #answered(
    ctx: CallContext,
    outcome: Outcome,
    response: WireResponse,
    key: string | undefined,
  ): Outcome {
    const cache = this.#cache!;
    const status = response.status;
    if (key === undefined) {
      if (
        status < 400 &&
        cache.size > 0 &&
        this.#key === undefined &&
        !SAFE_METHODS.has(ctx.method)
      ) {
        cache.delete(`GET ${ctx.origin}${ctx.path}`);
        cache.delete(`HEAD ${ctx.origin}${ctx.path}`);
      }
      return outcome;
    }
    if (!STORABLE_STATUS.has(status)) {
      // 408, 429 and 5xx are failures, not news about the resource: the entry stays for them.
      if (status !== 408 && status !== 429 && status < 500) cache.delete(key);
      return outcome;
    }
    if (forbidsStoring(response.headers)) {
      cache.delete(key); // the server said not to keep it
      return outcome;
    }
    const { maxEntryBytes, maxAgeMs } = this.#stale!;
    const length = Number(headerValue(response.headers['content-length']) ?? Number.NaN);
    if (length > maxEntryBytes) {
      cache.delete(key); // larger than an entry may be: the newer answer cannot be kept
      return outcome;
    }
    const receivedAt = performance.now();
    // Run once the caller read the whole body: only then are the headers copied.
    const keep = (body: Uint8Array | undefined, json: boolean): void => {
      if (this.#closed) return;
      const headers = body && storableHeaders(response.headers);
      if (body === undefined || headers!.bytes + body.length > maxEntryBytes) {
        cache.delete(key);
        return;
      }
      const entry: StaleEntry = {
        status,
        statusText: response.statusText,
        headers: headers!.kept,
        body,
        receivedAt,
        bytes: headers!.bytes + body.length,
        parsed: json,
      };
      // The sweep of expired entries may run up to a read's duration late: no clock read here.
      cache.set(key, entry, receivedAt, maxAgeMs);
    };
    // No body to read (204, an answer to HEAD): the status and headers are the whole answer.
    if (status === 204 || ctx.method === 'HEAD') {
      keep(new Uint8Array(0), true);
      return outcome;
    }
    const body = new RecordingBody(response.body, maxEntryBytes, keep);
    return { kind: 'response', response: { ...response, body } };
  }

  // ── answering for a failure ─────────────────────────────────────────────────────

  async #fallBack(
    ctx: CallContext,
    outcome: Outcome,
    trigger: FallbackTrigger,
    key: string | undefined,
  ): Promise<Outcome> {
    const events = this.events;
    const reported = eventTrigger(outcome, trigger);
    if (key !== undefined) {
      const now = performance.now();
      const entry = this.#fresh(key, now);
      if (events.fallback.hasListeners) {
        events.fallback.emit({
          ctx,
          kind: 'stale',
          trigger: reported,
          served: entry !== undefined,
          ageMs: entry && now - entry.receivedAt,
        });
      }
      if (entry !== undefined) {
        discard(outcome);
        return { kind: 'response', response: staleResponse(ctx, entry, now - entry.receivedAt) };
      }
    }
    const handler = this.#handler;
    if (handler === undefined) return outcome;
    let answer: WireResponse | undefined;
    try {
      const value: unknown = await handler(ctx, outcome, trigger);
      answer = value === undefined ? undefined : this.#asResponse(ctx, value);
    } catch (error) {
      this.#reportHandler(ctx, reported, false);
      discard(outcome);
      const detail = error instanceof HandlerResultError ? error.detail : 'threw';
      const thrown = error instanceof HandlerResultError ? error.cause : error;
      return {
        kind: 'error',
        error: new FallbackError(
          ctx.method,
          ctx.url,
          reported,
          failureError(ctx, outcome),
          thrown,
          detail,
        ),
      };
    }
    this.#reportHandler(ctx, reported, answer !== undefined);
    if (answer === undefined) return outcome;
    discard(outcome);
    return { kind: 'response', response: answer };
  }

  /** The key's entry if it is young enough to serve (a JSON body must still parse). */
  #fresh(key: string, now: number): StaleEntry | undefined {
    const cache = this.#cache;
    const entry = cache?.get(key, now, this.#stale!.maxAgeMs);
    if (entry === undefined || entry.parsed || !isJson(contentTypeOf(entry))) return entry;
    try {
      JSON.parse(
        Buffer.from(entry.body)
          .toString('utf8')
          .replace(/^\uFEFF/, ''),
      );
      return entry;
    } catch {
      cache!.delete(key); // a body the caller got as text, that was never JSON: not an answer
      return undefined;
    }
  }

  #asResponse(ctx: CallContext, value: unknown): WireResponse {
    try {
      return value instanceof Response ? fromResponse(ctx, value) : jsonResponse(ctx, value);
    } catch (error) {
      throw new HandlerResultError(
        value instanceof Response
          ? 'returned a Response that cannot be served (an error, or its body already read)'
          : 'returned a value JSON cannot represent',
        error,
      );
    }
  }

  #reportHandler(ctx: CallContext, trigger: string, served: boolean): void {
    const fallback = this.events.fallback;
    if (fallback.hasListeners)
      fallback.emit({ ctx, kind: 'handler', trigger, served, ageMs: undefined });
  }
}

/** The handler returned something that cannot be served (as opposed to throwing). */
class HandlerResultError extends Error {
  constructor(
    readonly detail: string,
    cause: unknown,
  ) {
    super(detail, { cause });
  }
}

/** `Cache-Control: no-store` (never store it) or `Vary: *` (it depends on more than the request). */
function forbidsStoring(raw: WireResponse['headers']): boolean {
  const cacheControl = headerValue(raw['cache-control']);
  if (cacheControl !== undefined && /(?:^|,)\s*no-store\s*(?:,|$)/i.test(cacheControl)) return true;
  const vary = headerValue(raw.vary);
  return vary?.split(',').some((name) => name.trim() === '*') === true;
}

/** The headers worth keeping, and what they count (names and values). */
function storableHeaders(raw: WireResponse['headers']): {
  readonly kept: Record<string, string | string[]>;
  readonly bytes: number;
} {
  // Names the `connection` header lists are hop-by-hop too.
  const connection = headerValue(raw.connection)
    ?.toLowerCase()
    .split(',')
    .map((n) => n.trim());
  const kept: Record<string, string | string[]> = {};
  let bytes = 0;
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined || DROPPED_HEADERS.has(name) || connection?.includes(name)) continue;
    kept[name] = value;
    bytes += name.length;
    if (Array.isArray(value)) for (const v of value) bytes += v.length;
    else bytes += value.length;
  }
  return { kept, bytes };
}

/** One header's value as one string (repeated ones joined as a list). */
function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function contentTypeOf(entry: StaleEntry): string {
  const value = entry.headers['content-type'];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** `application/json`, `application/problem+json`, ... */
function isJson(contentType: string): boolean {
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

/** A token selection's name in cache keys; selections are frozen, so it is made once each. */
const tokenNames = new WeakMap<TokenSelector, string>();
function tokenName(token: TokenSelector): string {
  let name = tokenNames.get(token);
  if (name === undefined) {
    name = JSON.stringify([token.scopes ?? null, token.resource ?? null, token.audience ?? null]);
    tokenNames.set(token, name);
  }
  return name;
}

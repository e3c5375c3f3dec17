import { buildCallPipeline, type CallPipeline } from './call-pipeline.js';
import {
  CallOptionsResolver,
  hasCallOptions,
  type ResolvedCallOptions,
} from './config/call-options.js';
import { clientSchema, closeSchema } from './config/client-schema.js';
import type { ClientOptions, CloseOptions, ResolvedOptions } from './config/options.js';
import type { CallOptions } from './config/request-options.js';
import { parseOptions } from './config/schema.js';
import { resolveOptions } from './config/validate.js';
import {
  ClientClosedError,
  HttpStatusError,
  type InvalidConfigurationError,
  InvalidRequestError,
  InvalidResponseError,
  NetworkError,
  SteadfastError,
  safeUrl,
} from './errors.js';
import { type BodyInput, normalizeBody, type RequestBody } from './http/body.js';
import { errorCode } from './http/classify.js';
import { toHeaders, toResponse } from './http/response.js';
import { isPlainAbsolutePath } from './http/url.js';
import { Call } from './pipeline/call.js';
import { ClientEvents } from './pipeline/client-events.js';
import type { BreakerState } from './pipeline/events.js';
import { callerAbortError } from './pipeline/outcomes.js';
import { onAbort } from './pipeline/signals.js';
import type {
  CallContext,
  Next,
  ResponseBody,
  WireHeaders,
  WireResponse,
} from './pipeline/types.js';
import { runBeforeError } from './strategies/hooks/run.js';
import type { BeforeErrorHook } from './strategies/hooks/types.js';

/**
 * Request headers as `fetch` takes them: a `Headers`, `[name, value]` pairs or a record.
 * Declared here rather than taken from the DOM library, which Node services do not load.
 */
export type HeadersInput =
  | Headers
  | readonly (readonly [string, string])[]
  | Readonly<Record<string, string | undefined>>;

/**
 * Options of one call: what `fetch` accepts, plus Steadfast's own (`CallOptions`: `timeoutMs`,
 * `attemptTimeoutMs`, `retry`, `idempotencyKey`, `json`, `searchParams`, `context`).
 *
 * @example
 * await client.fetch('/orders', {
 *   method: 'POST',
 *   json: { sku: 'A-1' },
 *   idempotencyKey: true, // one key for every attempt: the POST may be retried
 *   timeoutMs: 2_000,
 * });
 */
export interface RequestOptions extends CallOptions {
  /** Default `GET`. */
  readonly method?: string;
  readonly headers?: HeadersInput;
  /**
   * Strings, buffers, `URLSearchParams`, `FormData`, `Blob` and body factories
   * (`() => body`) are replayed on retry; a one-shot stream is sent at most once.
   */
  readonly body?: BodyInput;
  /** Cancels the call, backoff sleeps included. An abort is not an error in telemetry. */
  readonly signal?: AbortSignal | null;
  /** Low-cardinality operation name for span names (e.g. `GET /users/{id}`). Default: the method. */
  readonly operation?: string;
  /** Mark a POST/PATCH as safe to re-send on ambiguous failures. Default: false. */
  readonly idempotent?: boolean;
  /** This call's limit on a body read whole (bytes). Default: the client's `maxResponseBytes`. */
  readonly maxResponseBytes?: number;
}

const CLOSE_POLL_MS = 10; // how often close({ graceMs }) looks whether the calls have ended

/** What `client.request()` resolves with: the wire response, body not yet read. */
export interface RawResponse {
  readonly status: number;
  readonly statusText?: string;
  /** Lower-case names; a header sent several times is an array. */
  readonly headers: Record<string, string | string[] | undefined>;
  /**
   * `text()`, `json()`, `arrayBuffer()`, `bytes()`, `blob()`, `stream()` (a web stream),
   * `for await` of Buffers, or `dump()` to throw it away. Read it or dump it: an unread body
   * holds its connection.
   */
  readonly body: ResponseBody;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const JSON_ACCEPT: WireHeaders = { accept: 'application/json' };
const JSON_ACCEPT_AND_CONTENT_TYPE: WireHeaders = {
  ...JSON_ACCEPT,
  'content-type': 'application/json',
};

/**
 * A resilient, observable HTTP client. Every call runs through the standard pipeline
 * (call-pipeline.ts shows every layer in order). Create it once and share it; `close()` it on shutdown.
 *
 * @example
 * const weather = createClient({ name: 'weather', baseUrl: 'http://weather:8080' });
 * const res = await weather.fetch('/weatherforecast');
 */
export class SteadfastClient {
  /** The client's name (the `client` metric label). */
  readonly name: string;
  /** Typed events of every strategy; telemetry adapters subscribe here. */
  readonly events = new ClientEvents();
  readonly #options: ResolvedOptions;
  readonly #pipeline: CallPipeline;
  /** `#pipeline.execute`, read once: the hot path skips a property load per call. */
  readonly #execute: Next;
  /** `baseUrl`'s origin, read once: `URL#origin` builds a new string on every read. */
  readonly #baseOrigin: string | undefined;
  /** Checks and resolves a call's own options (`timeoutMs`, `retry`, `json`, ...). */
  readonly #callOptions: CallOptionsResolver;
  /** `headers` of the client options, lower-case names; `undefined` when none. */
  readonly #defaultHeaders: Readonly<WireHeaders> | undefined;
  /** The `beforeError` hooks; `undefined` when none, so a rejection costs nothing more. */
  readonly #beforeError: readonly BeforeErrorHook[] | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: ClientOptions) {
    this.#options = resolveOptions(options);
    this.name = this.#options.name;
    this.#baseOrigin = this.#options.baseUrl?.origin;
    this.#callOptions = new CallOptionsResolver(this.#options.retry);
    this.#defaultHeaders = this.#options.headers;
    this.#beforeError = this.#options.hooks.beforeError;
    this.#pipeline = buildCallPipeline(this.#options, this.events);
    this.#execute = this.#pipeline.execute;
  }

  /** Calls in flight now. */
  get inflight(): number {
    return this.#pipeline.limiter.inflight;
  }

  /** The breaker state of each origin called so far. */
  get breakerStates(): ReadonlyMap<string, BreakerState> {
    return this.#pipeline.breaker?.states ?? new Map();
  }

  /**
   * Like global `fetch`: resolves with a standard `Response` for any HTTP status. Rejects
   * only with a `SteadfastError` (`NetworkError`, `TimeoutError`, `CircuitOpenError`, ...)
   * when no response was obtained. Relative URLs resolve against `baseUrl`. Redirects are
   * not followed.
   */
  fetch(input: string | URL | Request, init: RequestOptions = {}): Promise<Response> {
    return this.#rejecting(this.#fetch(input, init));
  }

  async #fetch(input: string | URL | Request, init: RequestOptions): Promise<Response> {
    const created = this.#context(input, init, undefined);
    const ctx = created instanceof Call ? created : await created;
    const outcome = await this.#execute(ctx);
    if (outcome.kind === 'error') throw this.#callError(outcome.error, ctx);
    if (ctx.signal) cancelBodyOnAbort(outcome.response, ctx);
    return toResponse(outcome.response, ctx);
  }

  /**
   * The low-level call: like `fetch`, but resolves with the wire response (`status`,
   * `headers` as a plain object, `body` with `.json()`, `.text()`, `.arrayBuffer()`,
   * `.stream()`, `.dump()`), skipping the cost of building a WHATWG `Response`.
   * Consume or `dump()` the body, or the connection is not reused.
   */
  request(input: string | URL | Request, init: RequestOptions = {}): Promise<RawResponse> {
    return this.#rejecting(this.#request(input, init));
  }

  async #request(input: string | URL | Request, init: RequestOptions): Promise<RawResponse> {
    const created = this.#context(input, init, undefined);
    const ctx = created instanceof Call ? created : await created;
    const outcome = await this.#execute(ctx);
    if (outcome.kind === 'error') throw this.#callError(outcome.error, ctx);
    if (ctx.signal) cancelBodyOnAbort(outcome.response, ctx);
    return outcome.response;
  }

  /**
   * Call and parse a JSON body. A non-2xx status rejects with `HttpStatusError`.
   * @example const days = await weather.getJson<Forecast[]>('/weatherforecast');
   */
  async getJson<T = unknown>(
    input: string | URL,
    init: Omit<RequestOptions, 'body'> = {},
  ): Promise<T> {
    return this.#json<T>(input, init, JSON_ACCEPT);
  }

  /**
   * POST a JSON body and parse the JSON answer. A non-2xx status rejects with `HttpStatusError`.
   * For another method, pass `json` to `getJson`, `request` or `fetch`.
   */
  async postJson<T = unknown>(
    input: string | URL,
    body: unknown,
    init: Omit<RequestOptions, 'body' | 'json'> = {},
  ): Promise<T> {
    return this.#json<T>(
      input,
      { ...init, method: init.method ?? 'POST', body: JSON.stringify(body) },
      JSON_ACCEPT_AND_CONTENT_TYPE,
    );
  }

  /**
   * Close the client: new calls are refused at once; calls still in flight — waiting for a
   * slot, a token or a retry, on the wire, or with a body still arriving — end with
   * `ClientClosedError` (after `graceMs`, if given, for them to finish); every socket of the
   * client's pools is destroyed, timers and subscriptions are released. When it resolves,
   * nothing of the client keeps the process alive. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    let graceMs: number;
    try {
      ({ graceMs } = parseOptions(closeSchema, options, 'close'));
    } catch (error) {
      return Promise.reject(error as InvalidConfigurationError);
    }
    this.#closed = true;
    this.#closing ??= this.#shutDown(graceMs);
    return this.#closing;
  }

  async #shutDown(graceMs: number): Promise<void> {
    if (graceMs > 0) await this.#settled(graceMs);
    // Wake what waits (retry sleeps, the limiter's queue, token waits), then end what is on
    // the wire and destroy the sockets: each call ends with ClientClosedError.
    await this.#pipeline.close((ctx) => new ClientClosedError(this.name, ctx.method, ctx.url));
    await this.#options.auth?.close();
  }

  /** Resolves when no call and no response body is in flight, or after `graceMs`. */
  async #settled(graceMs: number): Promise<void> {
    const giveUpAt = performance.now() + graceMs;
    const { limiter, transport } = this.#pipeline;
    while (limiter.inflight > 0 || transport.inflight > 0) {
      const left = giveUpAt - performance.now();
      if (left <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(CLOSE_POLL_MS, left)));
    }
  }

  /**
   * The call's context (see `#createContext`), failures typed. No wrapper object and no
   * extra async frame per call: synchronous unless the input needs reading.
   */
  #context(
    input: string | URL | Request,
    init: RequestOptions,
    defaultHeaders: WireHeaders | undefined,
  ): Call | Promise<Call> {
    try {
      const created = this.#createContext(input, init, defaultHeaders);
      if (created instanceof Call) return created;
      return created.catch((error: unknown) => {
        throw this.#callError(error as Error, undefined);
      });
    } catch (error) {
      throw this.#callError(error as Error, undefined);
    }
  }

  /**
   * What a call rejects with: always a `SteadfastError`. The pipeline's own errors pass as
   * they are; anything else (a network error that escaped the transport, an exception from
   * a user callback) is wrapped, with the original as its `cause`.
   */
  #callError(error: Error, ctx: Call | undefined): SteadfastError {
    if (error instanceof SteadfastError) return error;
    if (ctx === undefined) {
      return new InvalidRequestError(
        `${this.name}: the request could not be made (see the cause)`,
        {
          cause: error,
        },
      );
    }
    const code = errorCode(error);
    if (code !== undefined) return new NetworkError(ctx.method, ctx.url, code, error);
    return new SteadfastError(
      'ERR_STEADFAST_UNEXPECTED',
      `${ctx.method} ${safeUrl(ctx.url)}: failed with an unexpected ${error?.name ?? 'error'} (see the cause)`,
      { cause: error },
    );
  }

  #json<T>(input: string | URL, init: RequestOptions, defaultHeaders: WireHeaders): Promise<T> {
    return this.#rejecting(this.#jsonCall<T>(input, init, defaultHeaders));
  }

  /**
   * The call as it settles, its rejection first passed through the `beforeError` hooks
   * (which may replace it). Without such hooks, the call itself.
   */
  #rejecting<T>(call: Promise<T>): Promise<T> {
    const hooks = this.#beforeError;
    if (hooks === undefined) return call;
    return call.catch(async (error: Error) => {
      throw await runBeforeError(hooks, error, undefined);
    });
  }

  async #jsonCall<T>(
    input: string | URL,
    init: RequestOptions,
    defaultHeaders: WireHeaders,
  ): Promise<T> {
    const created = this.#context(input, init, defaultHeaders);
    const call = created instanceof Call ? created : await created;
    const outcome = await this.#execute(call);
    if (outcome.kind === 'error') throw this.#callError(outcome.error, call);
    const { status, body } = outcome.response;
    if (status < 200 || status > 299) {
      void body.dump();
      throw new HttpStatusError(call.method, call.url, status, toHeaders(outcome.response.headers));
    }
    if (status === 204) {
      void body.dump();
      return undefined as T;
    }
    let text: string;
    try {
      text = await body.text(); // typed failures: too large, body timeout, network
    } catch (error) {
      throw this.#callError(error as Error, call);
    }
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new InvalidResponseError(call.method, call.url, status, { cause: error });
    }
  }

  /** The call's context; synchronous unless the input is a `Request` or the body a `Blob`/`FormData`. */
  #createContext(
    input: string | URL | Request,
    init: RequestOptions,
    defaultHeaders?: WireHeaders,
  ): Call | Promise<Call> {
    if (this.#closed) throw new ClientClosedError(this.name);
    if (typeof init !== 'object' || init === null)
      throw new InvalidRequestError(`${this.name}: the options of a call must be an object`);
    // Steadfast's own options are checked only when the call gives one of them.
    const own = hasCallOptions(init) ? this.#callOptions.resolve(init) : undefined;
    if (own?.json !== undefined && init.body !== undefined && init.body !== null) {
      throw new InvalidRequestError(
        'Invalid option `json` of a call: give `json` or `body`, not both',
        { field: 'json' },
      );
    }
    if (typeof input === 'object' && 'url' in input && !(input instanceof URL))
      return this.#contextOfRequest(input, init, defaultHeaders, own);
    const body = normalizeBody(own?.json ?? init.body);
    const signal = init.signal ?? undefined;
    if (body instanceof Promise) {
      return body.then((b) =>
        this.#newCall(input, init.method, init.headers, signal, b, init, defaultHeaders, own),
      );
    }
    return this.#newCall(input, init.method, init.headers, signal, body, init, defaultHeaders, own);
  }

  /** A `Request` as input: its method, headers, signal and body, unless `init` overrides them. */
  async #contextOfRequest(
    request: Request,
    init: RequestOptions,
    defaultHeaders: WireHeaders | undefined,
    own: ResolvedCallOptions | undefined,
  ): Promise<Call> {
    let requestBody: BodyInput = own?.json ?? init.body;
    if (requestBody === undefined && request.body !== null)
      requestBody = new Uint8Array(await request.arrayBuffer());
    const body = await normalizeBody(requestBody);
    return this.#newCall(
      request.url,
      init.method ?? request.method,
      init.headers ?? request.headers,
      init.signal ?? request.signal,
      body,
      init,
      defaultHeaders,
      own,
    );
  }

  #newCall(
    target: string | URL,
    method: string | undefined,
    headersInit: HeadersInput | undefined,
    signal: AbortSignal | undefined,
    body: RequestBody,
    init: RequestOptions,
    defaultHeaders: WireHeaders | undefined,
    own: ResolvedCallOptions | undefined,
  ): Call {
    const upperMethod = method === undefined ? 'GET' : method.toUpperCase();
    const headers = toWireHeaders(headersInit);
    const clientHeaders = this.#defaultHeaders;
    if (clientHeaders !== undefined) withDefaults(headers, clientHeaders, body.contentType);
    if (defaultHeaders) {
      for (const name in defaultHeaders) headers[name] ??= defaultHeaders[name]!;
    }
    if (own !== undefined) ownHeaders(headers, own);
    if (body.contentType && headers['content-type'] === undefined)
      headers['content-type'] = body.contentType;
    let url: URL | undefined;
    let origin: string;
    let path: string;
    const baseOrigin = this.#baseOrigin;
    if (typeof target === 'string' && baseOrigin !== undefined && isPlainAbsolutePath(target)) {
      // "/path?query" against baseUrl: WHATWG resolution would keep it as it is, so skip the
      // parse (~1 µs); `ctx.url` is built from origin + path if someone asks for it.
      origin = baseOrigin;
      const query = own?.query;
      path = query === undefined ? target : `${target}${target.includes('?') ? '&' : '?'}${query}`;
    } else {
      url = this.#resolveUrl(target);
      const query = own?.query;
      if (query !== undefined) url.search = url.search ? `${url.search}&${query}` : query;
      origin = url.origin;
      path = url.pathname + url.search;
    }
    return new Call({
      client: this.name,
      maxResponseBytes:
        init.maxResponseBytes === undefined
          ? this.#options.maxResponseBytes
          : perCallLimit(init.maxResponseBytes),
      method: upperMethod,
      url,
      origin,
      path,
      operation: init.operation ?? upperMethod,
      headers,
      body,
      signal,
      idempotent:
        IDEMPOTENT_METHODS.has(upperMethod) ||
        init.idempotent === true ||
        headers['idempotency-key'] !== undefined,
      overrides: own?.overrides,
      context: own?.context,
    });
  }

  #resolveUrl(target: string | URL): URL {
    let url: URL;
    try {
      url =
        typeof target === 'string' ? new URL(target, this.#options.baseUrl) : new URL(target.href);
    } catch {
      // Quoted as far as it is safe: no userinfo, no query (it may hold an api_key). Not
      // the URL parser's TypeError as `cause` either: its `input` is the whole URL.
      const shown = safeUrl(String(target));
      throw new InvalidRequestError(
        this.#options.baseUrl
          ? `Invalid URL: cannot resolve "${shown}" against baseUrl`
          : `Invalid URL "${shown}": pass an absolute URL or set baseUrl`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidRequestError(
        `Unsupported protocol ${url.protocol}: only http: and https: are supported`,
      );
    }
    return url;
  }
}

/** The headers a call's own options imply: the `json` body's type, the `Idempotency-Key`. */
function ownHeaders(headers: WireHeaders, own: ResolvedCallOptions): void {
  if (own.json !== undefined) headers['content-type'] ??= 'application/json';
  if (own.idempotencyKey === undefined) return;
  if (headers['idempotency-key'] !== undefined) {
    throw new InvalidRequestError(
      'Invalid option `idempotencyKey` of a call: the headers carry an Idempotency-Key already; give one of the two',
      { field: 'idempotencyKey' },
    );
  }
  headers['idempotency-key'] = own.idempotencyKey;
}

/**
 * The client's `headers` under the call's own (names are lower-case on both sides, so the
 * call's win whatever case it wrote them in). They count as headers the caller gave, so a
 * default `content-type` wins over the type a string body implies; only a multipart body
 * keeps its own (its boundary is in it).
 */
function withDefaults(
  headers: WireHeaders,
  defaults: Readonly<WireHeaders>,
  bodyType: string | undefined,
): void {
  for (const name in defaults) {
    if (headers[name] !== undefined) continue;
    if (name === 'content-type' && bodyType?.startsWith('multipart/')) continue;
    headers[name] = defaults[name]!;
  }
}

/** A per-call `maxResponseBytes`, checked like the client option. */
function perCallLimit(value: unknown): number {
  try {
    return parseOptions(clientSchema.entries.maxResponseBytes, value, 'maxResponseBytes');
  } catch (error) {
    throw new InvalidRequestError((error as Error).message);
  }
}

/**
 * fetch semantics: the caller's signal still cancels the response body after the headers
 * arrived. The listener lives only as long as the body stream.
 */
function cancelBodyOnAbort(response: WireResponse, ctx: CallContext): void {
  const signal = ctx.signal!;
  const body = response.body;
  if (signal.aborted) {
    body.destroy(callerAbortError(ctx));
    return;
  }
  const forget = onAbort(signal, () => body.destroy(callerAbortError(ctx)));
  body.onFinished(forget);
}

function toWireHeaders(init: HeadersInput | undefined): WireHeaders {
  const headers: WireHeaders = {};
  if (init === undefined) return headers;
  if (init instanceof Headers) {
    init.forEach((value, name) => {
      headers[name] = value;
    });
  } else if (Array.isArray(init)) {
    for (const [name, value] of init) headers[name!.toLowerCase()] = value!;
  } else {
    for (const name of Object.keys(init)) {
      const value = (init as Record<string, string | undefined>)[name];
      if (value !== undefined) headers[name.toLowerCase()] = value;
    }
  }
  return headers;
}

/**
 * Create a resilient, observable HTTP client. Options are validated here: an invalid
 * option throws `InvalidConfigurationError` naming the field.
 *
 * @example
 * const weather = createClient({
 *   name: 'weather',
 *   baseUrl: 'http://weather:8080',
 *   auth: clientCredentials({ tokenUrl, clientId, clientSecret, scope: 'weather.read' }),
 * });
 * const days = await weather.getJson<Forecast[]>('/weatherforecast');
 */
export function createClient(options: ClientOptions): SteadfastClient {
  return new SteadfastClient(options);
}

import { normalizeTokenSelector } from './auth/options-schema.js';
import { buildCallPipeline, type CallPipeline } from './call-pipeline.js';
import {
  CallOptionsResolver,
  hasCallOptions,
  type ResolvedCallOptions,
} from './config/call-options.js';
import { clientSchema, closeSchema } from './config/client-schema.js';
import type { ExtendOptions } from './config/extend-options.js';
import { extendSchema, SHARED_WITH_PARENT } from './config/extend-schema.js';
import type { ClientOptions, CloseOptions, ResolvedOptions } from './config/options.js';
import type { CallOptions } from './config/request-options.js';
import { jsonCallSchema } from './config/request-schema.js';
import { parseOptions, type Resolved } from './config/schema.js';
import { resolveOptions } from './config/validate.js';
import {
  AbortError,
  ClientClosedError,
  HttpStatusError,
  InvalidConfigurationError,
  InvalidRequestError,
  InvalidResponseError,
  NetworkError,
  ResponseValidationError,
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
  CallOverrides,
  Next,
  ResponseBody,
  TokenSelector,
  WireHeaders,
  WireResponse,
} from './pipeline/types.js';
import { resolveHooks, runBeforeError } from './strategies/hooks/run.js';
import type { BeforeErrorHook, ResolvedHooks } from './strategies/hooks/types.js';

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

/**
 * Options of a JSON helper (`getJson`, `postJson`): a call's, plus `parse`, which validates
 * and types the parsed body.
 *
 * @example
 * const User = v.object({ id: v.string() }); // valibot; zod's `User.parse` works the same way
 * const user = await client.getJson('/user', { parse: (body) => v.parse(User, body) });
 */
export interface JsonRequestOptions<T> extends Omit<RequestOptions, 'body'> {
  /**
   * Any `(value: unknown) => T` — a zod or valibot schema's `parse` — given the parsed body
   * (`undefined` for a 204); the helper resolves with what it returns. When it throws, the
   * call rejects with `ResponseValidationError` (its first issue in the message, the thrown
   * error as `cause`), which is not retried. Default: none, the body is returned as parsed.
   */
  readonly parse?: (value: unknown) => T;
}

/** What `client.extend()` hands to the constructor it calls (see `extend`). */
let deriving: { readonly parent: SteadfastClient; readonly options: ExtendSettings } | undefined;
type ExtendSettings = Resolved<typeof extendSchema>;

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
  /** Typed events of every strategy; telemetry adapters subscribe here (a derived client's are its parent's). */
  readonly events: ClientEvents;
  /** The options the pipeline was built from: the root client's. */
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
  // This client's defaults for its calls: the options' own, or a derived client's.
  readonly #baseUrl: URL | undefined;
  readonly #maxResponseBytes: number;
  readonly #retry: ResolvedOptions['retry'];
  readonly #hooks: ResolvedHooks;
  readonly #totalTimeoutMs: number;
  readonly #attemptTimeoutMs: number;
  /** What a derived client's calls change of the pipeline's settings; `undefined` when nothing. */
  readonly #defaults: CallOverrides | undefined;
  /** The token a derived client's calls need (`extend({ token })`); `undefined`: the credential's own. */
  readonly #token: TokenSelector | undefined;
  /** The client this one was derived from (`extend`); `undefined` for `createClient`'s. */
  readonly #parent: SteadfastClient | undefined;
  /** A derived client's `close()` aborts it: every call of the client carries its signal. */
  readonly #stop: AbortController | undefined;
  /** `#stop`'s signal, and its parent's when the parent is derived too. */
  readonly #stopSignal: AbortSignal | undefined;
  /** A derived client's calls not yet settled (for `close({ graceMs })`). */
  #calls = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: ClientOptions) {
    const from = deriving;
    deriving = undefined;
    if (from !== undefined) {
      const { parent, options: own } = from;
      this.#options = parent.#options;
      this.name = parent.name;
      this.events = parent.events;
      this.#pipeline = parent.#pipeline;
      this.#parent = parent;
      this.#baseUrl = own.baseUrl === undefined ? parent.#baseUrl : new URL(own.baseUrl);
      this.#maxResponseBytes = own.maxResponseBytes ?? parent.#maxResponseBytes;
      this.#defaultHeaders = mergedHeaders(parent.#defaultHeaders, own.headers);
      const hooks = resolveHooks(own.hooks);
      this.#hooks = appended(parent.#hooks, hooks);
      // A layer's hooks are fixed when it is built: a child with per-attempt hooks of its own
      // gets the same layers with its hook lists in them; one without runs its parent's.
      this.#execute =
        hooks.beforeRequest || hooks.afterResponse || hooks.beforeRetry
          ? this.#pipeline.withHooks(this.#hooks)
          : parent.#execute;
      this.#retry =
        own.retry === undefined
          ? parent.#retry
          : own.retry && mergedRetry(parent.#retry, own.retry);
      this.#totalTimeoutMs = own.totalTimeoutMs ?? parent.#totalTimeoutMs;
      // An inherited attempt timeout never outlasts the child's own, shorter deadline.
      this.#attemptTimeoutMs =
        own.attemptTimeoutMs ?? Math.min(parent.#attemptTimeoutMs, this.#totalTimeoutMs);
      checkTimeouts(this.#totalTimeoutMs, this.#attemptTimeoutMs, this.#options);
      this.#defaults = defaultsOf(
        this.#options,
        this.#retry,
        this.#totalTimeoutMs,
        this.#attemptTimeoutMs,
      );
      if (own.token && this.#options.auth === undefined) {
        throw new InvalidConfigurationError(
          'token',
          "selects a token of the client's `auth`, and this client has none",
        );
      }
      this.#token =
        own.token === undefined
          ? parent.#token
          : own.token === false
            ? undefined
            : normalizeTokenSelector(own.token);
      this.#stop = new AbortController();
      this.#stopSignal = parent.#stopSignal
        ? AbortSignal.any([parent.#stopSignal, this.#stop.signal])
        : this.#stop.signal;
    } else {
      const resolved = resolveOptions(options);
      this.#options = resolved;
      this.name = resolved.name;
      this.events = new ClientEvents();
      this.#pipeline = buildCallPipeline(resolved, this.events);
      this.#execute = this.#pipeline.execute;
      this.#parent = undefined;
      this.#baseUrl = resolved.baseUrl;
      this.#maxResponseBytes = resolved.maxResponseBytes;
      this.#defaultHeaders = resolved.headers;
      this.#hooks = resolved.hooks;
      this.#retry = resolved.retry;
      this.#totalTimeoutMs = resolved.totalTimeoutMs;
      this.#attemptTimeoutMs = resolved.attemptTimeoutMs;
      this.#defaults = undefined;
      this.#token = undefined;
      this.#stop = undefined;
      this.#stopSignal = undefined;
    }
    this.#baseOrigin = this.#baseUrl?.origin;
    this.#callOptions = new CallOptionsResolver(this.#retry);
    this.#beforeError = this.#hooks.beforeError;
  }

  /**
   * A client for one family of endpoints: the same pools, circuit breakers, concurrency
   * limit, token and telemetry (`client` label included) as this one, with other defaults
   * for its calls — `baseUrl`, `headers` (merged over this client's, its own win), `hooks`
   * (run after this client's), `retry` (merged over this client's), `totalTimeoutMs`,
   * `attemptTimeoutMs`, `maxResponseBytes`, `token` (another token of the credential). Any other option is shared and rejected with
   * `InvalidConfigurationError`. The token still goes only to the origins of the client
   * created with `createClient` (its `baseUrl`'s and `authOrigins`), whatever the derived
   * `baseUrl`. Closing this client closes the derived ones; closing a derived one ends its
   * own calls only.
   *
   * @example
   * const reports = api.extend({ baseUrl: 'http://api:8080/reports/', totalTimeoutMs: 120_000, retry: false });
   */
  extend(options: ExtendOptions): SteadfastClient {
    if (this.#isClosed()) throw new ClientClosedError(this.name);
    if (typeof options === 'object' && options !== null) {
      for (const key of Object.keys(options)) {
        if (SHARED_WITH_PARENT.has(key)) {
          throw new InvalidConfigurationError(
            key,
            "is the parent's: a derived client shares its pools, breakers, limiter, token and telemetry; create a client of its own to change it",
          );
        }
      }
    }
    deriving = { parent: this, options: parseOptions(extendSchema, options) };
    try {
      return new SteadfastClient(undefined as never);
    } finally {
      deriving = undefined;
    }
  }

  /** Closed itself, or one of the clients it was derived from is. */
  #isClosed(): boolean {
    for (let client: SteadfastClient | undefined = this; client; client = client.#parent)
      if (client.#closed) return true;
    return false;
  }

  /** Calls in flight now. */
  get inflight(): number {
    return this.#pipeline.limiter.inflight;
  }

  /**
   * The adaptive concurrency limit of each origin called so far (`concurrency.adaptive`);
   * empty with the fixed limit.
   */
  get concurrencyLimits(): ReadonlyMap<string, number> {
    const { limiter } = this.#pipeline;
    return 'limits' in limiter ? limiter.limits() : new Map();
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
   * Call and parse a JSON body. A non-2xx status rejects with `HttpStatusError`; with
   * `parse`, a body it throws on rejects with `ResponseValidationError`.
   * @example const days = await weather.getJson<Forecast[]>('/weatherforecast');
   * @example const user = await api.getJson('/user', { parse: User.parse }); // typed by the schema
   */
  async getJson<T = unknown>(input: string | URL, init: JsonRequestOptions<T> = {}): Promise<T> {
    return this.#json<T>(input, init, JSON_ACCEPT);
  }

  /**
   * POST a JSON body and parse the JSON answer. A non-2xx status rejects with `HttpStatusError`.
   * For another method, pass `json` to `getJson`, `request` or `fetch`.
   */
  async postJson<T = unknown>(
    input: string | URL,
    body: unknown,
    init: Omit<JsonRequestOptions<T>, 'json'> = {},
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
    this.#closing ??= this.#stop ? this.#stopCalls(this.#stop, graceMs) : this.#shutDown(graceMs);
    return this.#closing;
  }

  /**
   * A derived client's close: its calls end (after `graceMs`, if given, for them to finish);
   * the pipeline, pools and token stay, they are its parent's.
   */
  async #stopCalls(stop: AbortController, graceMs: number): Promise<void> {
    const giveUpAt = performance.now() + graceMs;
    while (this.#calls > 0) {
      const left = giveUpAt - performance.now();
      if (left <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(CLOSE_POLL_MS, left)));
    }
    stop.abort(new ClientClosedError(this.name));
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
    // A derived client's close() aborted the call through its signal.
    const stop = this.#stopSignal;
    if (stop?.aborted && error instanceof AbortError && error.cause === stop.reason)
      return new ClientClosedError(this.name, ctx?.method, ctx?.url);
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

  #json<T>(
    input: string | URL,
    init: RequestOptions & Pick<JsonRequestOptions<T>, 'parse'>,
    defaultHeaders: WireHeaders,
  ): Promise<T> {
    return this.#rejecting(this.#jsonCall<T>(input, init, defaultHeaders));
  }

  /**
   * The call as it settles, its rejection first passed through the `beforeError` hooks
   * (which may replace it). Without such hooks, the call itself.
   */
  #rejecting<T>(call: Promise<T>): Promise<T> {
    if (this.#stop !== undefined) {
      this.#calls++;
      call = call.finally(() => {
        this.#calls--;
      });
    }
    const hooks = this.#beforeError;
    if (hooks === undefined) return call;
    return call.catch(async (error: Error) => {
      throw await runBeforeError(hooks, error, undefined);
    });
  }

  async #jsonCall<T>(
    input: string | URL,
    init: RequestOptions & Pick<JsonRequestOptions<T>, 'parse'>,
    defaultHeaders: WireHeaders,
  ): Promise<T> {
    const parse = init.parse;
    if (parse !== undefined) checkParse(parse);
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
      return parse === undefined ? (undefined as T) : validated(parse, undefined, call, status);
    }
    let text: string;
    try {
      text = await body.text(); // typed failures: too large, body timeout, network
    } catch (error) {
      throw this.#callError(error as Error, call);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new InvalidResponseError(call.method, call.url, status, { cause: error });
    }
    return parse === undefined ? (value as T) : validated(parse, value, call, status);
  }

  /** The call's context; synchronous unless the input is a `Request` or the body a `Blob`/`FormData`. */
  #createContext(
    input: string | URL | Request,
    init: RequestOptions,
    defaultHeaders?: WireHeaders,
  ): Call | Promise<Call> {
    if (this.#isClosed()) throw new ClientClosedError(this.name);
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
    const signal = this.#signalOf(init.signal ?? undefined);
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
      this.#signalOf(init.signal ?? request.signal),
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
    if (clientHeaders !== undefined)
      withDefaults(headers, clientHeaders, body.contentType, headersInit);
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
          ? this.#maxResponseBytes
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
      overrides: this.#overridesOf(own?.overrides),
      context: own?.context,
      token: this.#tokenOf(own?.token),
    });
  }

  /**
   * A call's overrides over a derived client's defaults: the call's own timeouts and retry
   * win (its retry was merged over this client's already), the client's stay underneath.
   */
  #overridesOf(own: CallOverrides | undefined): CallOverrides | undefined {
    const defaults = this.#defaults;
    if (defaults === undefined) return own;
    if (own === undefined) return defaults;
    return {
      timeoutMs: own.timeoutMs,
      attemptTimeoutMs: own.attemptTimeoutMs,
      retry: own.retry ?? defaults.retry,
      clientTotalTimeoutMs: defaults.clientTotalTimeoutMs,
      clientAttemptTimeoutMs: defaults.clientAttemptTimeoutMs,
    };
  }

  /** The call's own `token`, else this client's; `false` asks for the credential's own. */
  #tokenOf(own: TokenSelector | false | undefined): TokenSelector | undefined {
    if (own === undefined) return this.#token;
    if (own !== false && this.#options.auth === undefined) {
      throw new InvalidRequestError(
        "Invalid option `token` of a call: it selects a token of the client's `auth`, and this client has none",
        { field: 'token' },
      );
    }
    return own || undefined;
  }

  /** The caller's signal, and a derived client's: its `close()` ends its calls. */
  #signalOf(given: AbortSignal | undefined): AbortSignal | undefined {
    const stop = this.#stopSignal;
    if (stop === undefined) return given;
    return given === undefined ? stop : AbortSignal.any([given, stop]);
  }

  #resolveUrl(target: string | URL): URL {
    let url: URL;
    try {
      url = typeof target === 'string' ? new URL(target, this.#baseUrl) : new URL(target.href);
    } catch {
      // Quoted as far as it is safe: no userinfo, no query (it may hold an api_key). Not
      // the URL parser's TypeError as `cause` either: its `input` is the whole URL.
      const shown = safeUrl(String(target));
      throw new InvalidRequestError(
        this.#baseUrl
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
  init: HeadersInput | undefined,
): void {
  const removed = removedNames(init);
  for (const name in defaults) {
    if (headers[name] !== undefined || removed?.has(name)) continue;
    if (name === 'content-type' && bodyType?.startsWith('multipart/')) continue;
    headers[name] = defaults[name]!;
  }
}

/**
 * The headers a call's record sets to `undefined`: it sends them without the client's
 * default (as ky does). `undefined` when there are none.
 */
function removedNames(init: HeadersInput | undefined): Set<string> | undefined {
  if (init === undefined || init instanceof Headers || Array.isArray(init)) return undefined;
  let removed: Set<string> | undefined;
  for (const name of Object.keys(init)) {
    if ((init as Record<string, string | undefined>)[name] === undefined) {
      removed ??= new Set();
      removed.add(name.toLowerCase());
    }
  }
  return removed;
}

/** `parse` of a JSON helper, checked like a call's other options. */
function checkParse(parse: unknown): void {
  try {
    parseOptions(jsonCallSchema, { parse });
  } catch (error) {
    const rule = (error as Error).message.replace(/^Invalid option `parse`: /, '');
    throw new InvalidRequestError(`Invalid option \`parse\` of a call: ${rule}`, {
      field: 'parse',
    });
  }
}

/** The body as `parse` returns it; what it throws is a `ResponseValidationError`. */
async function validated<T>(
  parse: (value: unknown) => T,
  value: unknown,
  call: Call,
  status: number,
): Promise<T> {
  try {
    return await parse(value);
  } catch (error) {
    throw new ResponseValidationError(call.method, call.url, status, error);
  }
}

/** A derived client's headers: its parent's, its own (lower-case names) over them. */
function mergedHeaders(
  parent: Readonly<WireHeaders> | undefined,
  own: Readonly<Record<string, string>> | undefined,
): Readonly<WireHeaders> | undefined {
  if (own === undefined) return parent;
  const merged: WireHeaders = { ...parent };
  for (const [name, value] of Object.entries(own)) merged[name.toLowerCase()] = value;
  return Object.keys(merged).length > 0 ? Object.freeze(merged) : undefined;
}

/** A derived client's hooks: its parent's first, then its own. */
function appended(parent: ResolvedHooks, own: ResolvedHooks): ResolvedHooks {
  const both = <F>(a: readonly F[] | undefined, b: readonly F[] | undefined) =>
    a === undefined ? b : b === undefined ? a : Object.freeze([...a, ...b]);
  return {
    beforeRequest: both(parent.beforeRequest, own.beforeRequest),
    afterResponse: both(parent.afterResponse, own.afterResponse),
    beforeRetry: both(parent.beforeRetry, own.beforeRetry),
    beforeError: both(parent.beforeError, own.beforeError),
  };
}

/** A derived client's `retry`: its own options merged over its parent's settings. */
function mergedRetry(
  parent: ResolvedOptions['retry'],
  own: NonNullable<ExtendSettings['retry']>,
): ResolvedOptions['retry'] {
  try {
    return new CallOptionsResolver(parent).resolve({ retry: own }).overrides!
      .retry as ResolvedOptions['retry'];
  } catch (error) {
    if (!(error instanceof InvalidRequestError) || error.field === undefined) throw error;
    const rule = error.message.replace(/^Invalid option `[^`]*` of a call: /, '');
    throw new InvalidConfigurationError(error.field, rule);
  }
}

/** A derived client's timeouts, checked against each other and the shared breaker. */
function checkTimeouts(totalMs: number, attemptMs: number, root: ResolvedOptions): void {
  if (attemptMs > totalMs) {
    throw new InvalidConfigurationError(
      'attemptTimeoutMs',
      `must be ≤ totalTimeoutMs (${totalMs}), got ${attemptMs}`,
    );
  }
  const breaker = root.circuitBreaker;
  if (breaker && breaker.samplingDurationMs < 2 * attemptMs) {
    throw new InvalidConfigurationError(
      'attemptTimeoutMs',
      `must be ≤ half the parent's circuitBreaker.samplingDurationMs (${breaker.samplingDurationMs}), got ${attemptMs}`,
    );
  }
}

/** What a derived client's calls change of the pipeline's settings; `undefined` when nothing. */
function defaultsOf(
  root: ResolvedOptions,
  retry: ResolvedOptions['retry'],
  totalMs: number,
  attemptMs: number,
): CallOverrides | undefined {
  const sameRetry = retry === root.retry;
  const sameTotal = totalMs === root.totalTimeoutMs;
  const sameAttempt = attemptMs === root.attemptTimeoutMs;
  if (sameRetry && sameTotal && sameAttempt) return undefined;
  return {
    timeoutMs: undefined,
    attemptTimeoutMs: undefined,
    retry: sameRetry ? undefined : retry,
    clientTotalTimeoutMs: sameTotal ? undefined : totalMs,
    clientAttemptTimeoutMs: sameAttempt ? undefined : attemptMs,
  };
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

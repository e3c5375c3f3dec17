import type { AttemptSignal } from './attempt-signal.js';
import type {
  CallContext,
  CallOverrides,
  RequestBody,
  RetryStopReason,
  TokenSelector,
  WireHeaders,
} from './types.js';

/** The `context` of a call that gave none: one shared, frozen object. */
const NO_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({});

/** What a call is made of, as the client resolved it from `fetch(input, init)`. */
export type CallInit = Pick<
  CallContext,
  | 'client'
  | 'method'
  | 'origin'
  | 'path'
  | 'operation'
  | 'headers'
  | 'body'
  | 'maxResponseBytes'
  | 'signal'
  | 'idempotent'
> & {
  /** The parsed URL when the client had to parse it; otherwise built from origin + path on demand. */
  readonly url: URL | undefined;
  /** What the call changes of the client's settings. Default: nothing. */
  readonly overrides?: CallOverrides | undefined;
  /** The caller's `context` bag. Default: an empty frozen object. */
  readonly context?: Readonly<Record<string, unknown>> | undefined;
  /** The token the call needs, when not the credential's own. Default: the credential's. */
  readonly token?: TokenSelector | undefined;
};

/**
 * The client's `CallContext`: one per logical call. The two parts few calls need are built
 * on first use — the `URL` object (errors and telemetry read it; the wire needs only `origin`
 * and `path`) and the `slots` map (tracing and chaos use it).
 */
export class Call implements CallContext {
  readonly client: string;
  readonly method: string;
  readonly origin: string;
  readonly operation: string;
  readonly path: string;
  readonly headers: WireHeaders;
  readonly body: RequestBody;
  readonly maxResponseBytes: number;
  readonly signal: AbortSignal | undefined;
  readonly idempotent: boolean;
  readonly startedAt: number;
  attemptSignal: AttemptSignal | undefined = undefined;
  deadline = Number.POSITIVE_INFINITY;
  attempt = 0;
  attempts = 0;
  retryStopReason: RetryStopReason | undefined = undefined;
  readonly overrides: CallOverrides | undefined;
  readonly context: Readonly<Record<string, unknown>>;
  readonly token: TokenSelector | undefined;
  #url: URL | undefined;
  #slots: Map<symbol, unknown> | undefined;

  constructor(init: CallInit) {
    this.client = init.client;
    this.method = init.method;
    this.#url = init.url;
    this.origin = init.origin;
    this.operation = init.operation;
    this.path = init.path;
    this.headers = init.headers;
    this.body = init.body;
    this.maxResponseBytes = init.maxResponseBytes;
    this.signal = init.signal;
    this.idempotent = init.idempotent;
    this.overrides = init.overrides;
    this.context = init.context ?? NO_CONTEXT;
    this.token = init.token;
    this.startedAt = performance.now();
  }

  get urlHasUserinfo(): boolean {
    const url = this.#url;
    return url !== undefined && (url.username !== '' || url.password !== '');
  }

  get url(): URL {
    this.#url ??= new URL(this.origin + this.path);
    return this.#url;
  }

  get slots(): Map<symbol, unknown> {
    this.#slots ??= new Map();
    return this.#slots;
  }
}

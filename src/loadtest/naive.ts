import type { Dispatcher } from 'undici';
import type { CallResult } from './callers.js';

/** Settings of {@link NaiveClient}. */
export interface NaiveSettings {
  readonly url: string;
  readonly auth:
    | {
        readonly tokenUrl: string;
        readonly clientId: string;
        readonly clientSecret: string;
        readonly scope?: string | undefined;
      }
    | undefined;
  /** Retries of each loop (outer: non-success but 401; inner: 401). */
  readonly retries: number;
  /** Delay before each retry, before jitter. */
  readonly delayMs: number;
  readonly attemptTimeoutMs: number;
  readonly random: () => number;
  readonly dispatcher: Dispatcher;
  readonly onAttempt: (outcome: string) => void;
  /** Called before each retry's wait, with the delay about to be waited. */
  readonly onRetry: (reason: string, delayMs: number) => void;
  readonly onTokenFetch: () => void;
}

interface AttemptResult {
  readonly status: number | undefined;
  readonly outcome: string;
}

/**
 * The pattern Steadfast was designed to beat, written the way it is usually hand-rolled
 * (a Polly retry around a second retry that refreshes the token):
 * - an outer retry of every non-success except 401 (400 and 404 included), 3 retries,
 *   a constant delay with ±25 % jitter;
 * - an inner retry of 401 only, 3 retries, the same delay, and a new token fetched from the
 *   token endpoint before every re-send: per process, no single flight, and no check of which
 *   token was rejected (a 401 for an old token replaces a newer one).
 * The token lives in one variable per process, like a memory cache.
 */
export class NaiveClient {
  #token: string | undefined;

  constructor(private readonly settings: NaiveSettings) {}

  /**
   * One call. `headersFor` gives the extra headers of each attempt (request key, phase); it is
   * asked before every attempt, after `onRetry` told of the delays waited so far.
   */
  async call(signal: AbortSignal, headersFor?: () => Record<string, string>): Promise<CallResult> {
    const { retries } = this.settings;
    let result = await this.#withTokenRetry(signal, headersFor);
    for (let retry = 1; retry <= retries; retry++) {
      if (isSuccess(result) || result.status === 401 || signal.aborted) break;
      if (!(await this.#sleep(result.outcome, signal))) break;
      result = await this.#withTokenRetry(signal, headersFor);
    }
    if (signal.aborted && !isSuccess(result)) return { ok: false, outcome: 'aborted' };
    return { ok: isSuccess(result), outcome: result.outcome };
  }

  /** The inner loop: on 401, wait, fetch a new token (always), re-send. */
  async #withTokenRetry(
    signal: AbortSignal,
    headersFor: (() => Record<string, string>) | undefined,
  ): Promise<AttemptResult> {
    if (this.settings.auth && this.#token === undefined) {
      const fetched = await this.#fetchToken(signal);
      if (fetched) return fetched;
    }
    let result = await this.#send(signal, headersFor);
    for (let retry = 1; retry <= this.settings.retries; retry++) {
      if (result.status !== 401 || !this.settings.auth || signal.aborted) break;
      if (!(await this.#sleep('401', signal))) break;
      const failed = await this.#fetchToken(signal);
      if (failed) return failed;
      result = await this.#send(signal, headersFor);
    }
    return result;
  }

  async #send(
    signal: AbortSignal,
    headersFor: (() => Record<string, string>) | undefined,
  ): Promise<AttemptResult> {
    const timeout = AbortSignal.timeout(this.settings.attemptTimeoutMs);
    const headers: Record<string, string> = { ...headersFor?.() };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let result: AttemptResult;
    try {
      const res = await this.settings.dispatcher.request({
        ...originAndPath(this.settings.url),
        method: 'GET',
        headers,
        signal: AbortSignal.any([signal, timeout]),
      });
      await res.body.dump();
      result = { status: res.statusCode, outcome: String(res.statusCode) };
    } catch (error) {
      result = {
        status: undefined,
        outcome: timeout.aborted ? 'timeout' : signal.aborted ? 'aborted' : codeOf(error),
      };
    }
    if (result.outcome !== 'aborted') this.settings.onAttempt(result.outcome);
    return result;
  }

  /** Fetch a token and keep it; returns a failure result when it could not. */
  async #fetchToken(signal: AbortSignal): Promise<AttemptResult | undefined> {
    const auth = this.settings.auth!;
    this.settings.onTokenFetch();
    try {
      const body = new URLSearchParams({ grant_type: 'client_credentials' });
      if (auth.scope) body.set('scope', auth.scope);
      const res = await this.settings.dispatcher.request({
        ...originAndPath(auth.tokenUrl),
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: body.toString(),
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.settings.attemptTimeoutMs)]),
      });
      const json = (await res.body.json().catch(() => ({}))) as { access_token?: unknown };
      if (res.statusCode !== 200 || typeof json.access_token !== 'string') {
        return { status: undefined, outcome: 'token_unavailable' };
      }
      this.#token = json.access_token;
      return undefined;
    } catch {
      return { status: undefined, outcome: signal.aborted ? 'aborted' : 'token_unavailable' };
    }
  }

  /** Constant delay with ±25 % jitter; false when the run was interrupted meanwhile. */
  #sleep(reason: string, signal: AbortSignal): Promise<boolean> {
    const delayMs = this.settings.delayMs * (0.75 + 0.5 * this.settings.random());
    this.settings.onRetry(reason, delayMs);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, delayMs);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function isSuccess(result: AttemptResult): boolean {
  return result.status !== undefined && result.status >= 200 && result.status < 300;
}

function originAndPath(url: string): { origin: string; path: string } {
  const u = new URL(url);
  return { origin: u.origin, path: u.pathname + u.search };
}

function codeOf(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return '_OTHER';
}

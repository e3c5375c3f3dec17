import { setMaxListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import { seededRandom, tokenFingerprint } from 'steadfast';
import { bearerToken, MIN_ADMIN_TOKEN_LENGTH } from './bearer-token.js';
import { ClientQuota, type ClientQuotaCounts, quotaHeaders } from './client-quota.js';
import {
  drawFault,
  KeyedDraws,
  MAX_REQUEST_KEY_LENGTH,
  PHASE_HEADER,
  REQUEST_KEY_HEADER,
} from './fault-draw.js';
import { describeProfile, type FaultProfile, faultProfile } from './fault-profile.js';
import { adminRouter } from './flaky-api-admin.js';
import { forecast } from './forecast.js';
import { logNormal } from './seeded-random.js';
import { ServiceQueue, type ServiceQueueCounts } from './service-queue.js';
import {
  type IntrospectionOptions,
  type IntrospectionStats,
  IntrospectionUnavailableError,
  TokenIntrospector,
} from './token-introspector.js';
import { revokeAtIdp } from './token-revocation.js';

/** The quota key of a token whose introspection names no client. */
const UNKNOWN_CLIENT = '?';

/** Options of {@link startFlakyApi}. */
export interface FlakyApiOptions {
  /** Interface to listen on. Default: `127.0.0.1`. */
  readonly host?: string;
  /** Port; 0 picks a free port. Default: 0. */
  readonly port?: number;
  /** How bearer tokens are validated: introspection at the IdP, with a short cache. */
  readonly introspection: IntrospectionOptions;
  /**
   * The IdP's revocation endpoint, used by `POST /admin/revoke-current-token` with the
   * introspection client's credentials (that client needs `mayRevokeAnyToken`).
   * Default: none (the route answers 501).
   */
  readonly revocationUrl?: string;
  /** The first fault profile (validated, missing fields healthy). Default: healthy. */
  readonly profile?: Partial<FaultProfile>;
  /** Bearer token for the `/admin/*` routes; at least 16 characters. */
  readonly adminToken: string;
  /** Scope a token needs for `/weatherforecast`; 403 `insufficient_scope` otherwise. Default: none. */
  readonly requiredScope?: string;
  /**
   * Seed of the fault, latency and forecast draws, for repeatable runs. Default: random.
   * A request without `x-steadfast-request-key` draws from one stream shared by all such
   * requests, in the order they arrive. A request with it draws from its own stream, seeded
   * by (seed, key, n) where n is how many requests with that key came before: the same key
   * sequence gives the same draws whatever the arrival order (see `KeyedDraws`).
   */
  readonly seed?: number;
  /**
   * Fault profiles that a request may pick with `x-steadfast-phase: <index>` (a load test
   * computes each call's phase from its scheduled start). Without this option the header is
   * ignored; with it, a request without the header gets the current profile and an
   * unknown index is refused with 400. Validated like `profile`. Default: none.
   */
  readonly phases?: readonly Partial<FaultProfile>[];
  /** Where to write one line per new token seen, profile change or revocation. Default: nowhere. */
  readonly log?: (line: string) => void;
}

/** What the API served since it started. */
export interface FlakyApiStats {
  /** Name of the current fault profile. */
  readonly profile: string;
  /** `/weatherforecast` requests received. */
  readonly requests: number;
  /** `/weatherforecast` responses by status code; connection resets count under `reset`. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Faults injected, by kind. */
  readonly injected: {
    readonly down: number;
    readonly error: number;
    readonly unauthorized: number;
    readonly rateLimited: number;
    readonly reset: number;
    /** Requests made slow (`slowRate`). */
    readonly slow: number;
  };
  /** Requests refused for a real token problem, by reason. */
  readonly rejected: {
    readonly missingToken: number;
    readonly inactiveToken: number;
    readonly insufficientScope: number;
    readonly introspectionUnavailable: number;
  };
  readonly introspection: IntrospectionStats;
  /** How many distinct tokens the API has seen. */
  readonly distinctTokens: number;
  /** Fingerprint of the last valid token seen, if any. */
  readonly lastTokenFingerprint: string | undefined;
  /** Tokens revoked through `POST /admin/revoke-current-token`. */
  readonly revocations: number;
  /** The per-client quota (`quotaPerSecond` of the profile). */
  readonly quota: {
    /** The current profile's quota, requests per second per client id; 0: none. */
    readonly perSecond: number;
    /**
     * Authorized requests by client id (as the IdP reports it): accepted, or refused with 429
     * by the quota. Injected 429s (`rateLimitRate`) are not counted here.
     */
    readonly byClient: Readonly<Record<string, ClientQuotaCounts>>;
  };
  /**
   * The service's capacity (`capacity` of the profile): its workers and queue now, their
   * peaks, and requests served, refused past `queueLimit` (answered `overloadStatus`) and
   * abandoned by their client while they waited. All zero while no profile had a capacity.
   */
  readonly capacity: { readonly workers: number } & ServiceQueueCounts;
}

/** What `revokeCurrentToken()` did. */
export interface RevocationResult {
  readonly revoked: boolean;
  readonly fingerprint?: string;
  readonly reason?: string;
}

/** A running flaky API. */
export interface FlakyApi {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Replace the fault profile (validated; missing fields healthy). Returns the new profile. */
  setProfile(profile: Partial<FaultProfile>): FaultProfile;
  profile(): FaultProfile;
  stats(): FlakyApiStats;
  /** Revoke, at the IdP, the last valid token this API saw. */
  revokeCurrentToken(): Promise<RevocationResult>;
  /** Stop listening, drop open connections and pending delays. */
  close(): Promise<void>;
}

/**
 * Start the downstream API of the demo: `GET /weatherforecast` behind real bearer-token
 * validation (introspection at the IdP), with faults injected from a profile that can be
 * changed while running; a profile's `quotaPerSecond` limits each client id for real (see
 * `ClientQuota`), its `capacity` makes it a service of fixed capacity (see `ServiceQueue`). Admin routes (`Authorization: Bearer <adminToken>`):
 * `GET|PUT /admin/profile`, `POST /admin/revoke-current-token`, `GET /admin/stats`.
 * `GET /healthz` is open. Tokens are logged by fingerprint only.
 *
 * @example
 * const api = await startFlakyApi({ introspection: { url, clientId, clientSecret }, adminToken });
 * api.setProfile({ name: 'storm', errorRate: 0.2, rateLimitRate: 0.1 });
 * api.setProfile({ name: 'quota', quotaPerSecond: 200 });
 */
export async function startFlakyApi(options: FlakyApiOptions): Promise<FlakyApi> {
  if (
    typeof options.adminToken !== 'string' ||
    options.adminToken.length < MIN_ADMIN_TOKEN_LENGTH
  ) {
    throw new TypeError(
      `startFlakyApi: \`adminToken\` must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`,
    );
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`startFlakyApi: \`port\` must be an integer in [0, 65535], got ${port}`);
  }
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => {});
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  const sharedRandom = seededRandom(seed);
  const keyed = new KeyedDraws(seed);
  const phases = options.phases?.map((phase) => faultProfile(phase));
  const introspector = new TokenIntrospector(options.introspection);
  const quota = new ClientQuota();
  const service = new ServiceQueue();
  const closing = new AbortController();
  // Every delayed request listens on it: many at once is normal, not a leak.
  setMaxListeners(0, closing.signal);

  let profile = faultProfile(options.profile ?? {});
  let lastToken: string | undefined;
  const seenFingerprints = new Set<string>();
  const counters = {
    requests: 0,
    revocations: 0,
    byStatus: {} as Record<string, number>,
    injected: { down: 0, error: 0, unauthorized: 0, rateLimited: 0, reset: 0, slow: 0 },
    rejected: {
      missingToken: 0,
      inactiveToken: 0,
      insufficientScope: 0,
      introspectionUnavailable: 0,
    },
  };
  const countStatus = (status: string) => {
    counters.byStatus[status] = (counters.byStatus[status] ?? 0) + 1;
  };

  const setProfile = (next: Partial<FaultProfile>): FaultProfile => {
    profile = faultProfile(next);
    log(`flaky-api: fault profile is now "${profile.name}" ${describeProfile(profile)}`);
    return profile;
  };

  const revokeCurrentToken = async (): Promise<RevocationResult> => {
    if (!options.revocationUrl)
      return { revoked: false, reason: 'no revocation endpoint configured' };
    const token = lastToken;
    if (!token) return { revoked: false, reason: 'no token seen yet' };
    const fingerprint = tokenFingerprint(token);
    const answer = await revokeAtIdp(
      {
        url: options.revocationUrl,
        clientId: options.introspection.clientId,
        clientSecret: options.introspection.clientSecret,
      },
      token,
    );
    if (!answer.ok) {
      log(`flaky-api: could not revoke token ${fingerprint}: ${answer.reason}`);
      return { revoked: false, fingerprint, reason: answer.reason };
    }
    introspector.forget(token);
    if (lastToken === token) lastToken = undefined;
    counters.revocations += 1;
    log(`flaky-api: revoked token ${fingerprint} at the IdP`);
    return { revoked: true, fingerprint };
  };

  const stats = (): FlakyApiStats => ({
    profile: profile.name,
    requests: counters.requests,
    byStatus: { ...counters.byStatus },
    injected: { ...counters.injected },
    rejected: { ...counters.rejected },
    introspection: introspector.stats(),
    distinctTokens: seenFingerprints.size,
    lastTokenFingerprint: lastToken === undefined ? undefined : tokenFingerprint(lastToken),
    revocations: counters.revocations,
    quota: { perSecond: profile.quotaPerSecond, byClient: quota.counts() },
    capacity: { workers: profile.capacity, ...service.counts() },
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/weatherforecast', async (req, res) => {
    counters.requests += 1;
    res.on('finish', () => countStatus(String(res.statusCode)));
    let current = profile;
    if (phases) {
      const phase = req.get(PHASE_HEADER);
      if (phase !== undefined) {
        const index = /^\d{1,6}$/.test(phase) ? Number(phase) : -1;
        const chosen = phases[index];
        if (!chosen) {
          res
            .status(400)
            .json({ error: `${PHASE_HEADER} must be a phase index below ${phases.length}` });
          return;
        }
        current = chosen;
      }
    }
    const key = req.get(REQUEST_KEY_HEADER);
    if (key !== undefined && key.length > MAX_REQUEST_KEY_LENGTH) {
      res.status(400).json({
        error: `${REQUEST_KEY_HEADER} is longer than ${MAX_REQUEST_KEY_LENGTH} characters`,
      });
      return;
    }
    // Drawn before the down check: n counts every request of the key, so it is the attempt.
    const random = key === undefined ? sharedRandom : keyed.next(key);
    if (current.down) {
      counters.injected.down += 1;
      res.status(503).json({ error: 'service unavailable (hard down)' });
      return;
    }
    const fault = drawFault(current, random);
    // Drawn only when the profile has a tail: the other profiles' draws stay as they were.
    const slow = current.slowRate > 0 && random() < current.slowRate;
    if (slow) counters.injected.slow += 1;
    const delayMs = slow
      ? current.slowLatencyMs
      : logNormal(random, current.latencyMedianMs, current.latencyP99Ms);
    if (current.capacity > 0) {
      // A worker holds the request for the service time plus its latency; beyond the
      // workers it waits its turn, or is refused when the queue is full.
      const entry = await service.enter(current.capacity, current.queueLimit, (leave) =>
        res.once('close', leave),
      );
      if (entry === 'abandoned') return; // the client left: nobody to answer
      if (entry === 'refused') {
        res.status(current.overloadStatus).json({ error: 'overloaded' });
        return;
      }
      try {
        await sleep(current.serviceMs + delayMs, undefined, { signal: closing.signal });
      } catch {
        return; // shutting down; the connection is being dropped
      } finally {
        service.leave(current.capacity);
      }
    } else if (delayMs > 0) {
      try {
        await sleep(delayMs, undefined, { signal: closing.signal });
      } catch {
        return; // shutting down; the connection is being dropped
      }
    }
    if (fault === 'reset') {
      counters.injected.reset += 1;
      countStatus('reset');
      req.socket.resetAndDestroy();
      return;
    }
    if (fault === 'rateLimited') {
      counters.injected.rateLimited += 1;
      res.set('retry-after', String(current.retryAfterSeconds));
      res.status(429).json({ error: 'too many requests' });
      return;
    }

    const token = bearerToken(req.get('authorization'));
    if (token === undefined) {
      counters.rejected.missingToken += 1;
      res.set('www-authenticate', 'Bearer realm="flaky-api"');
      res.status(401).json({ error: 'missing bearer token' });
      return;
    }
    let info: Awaited<ReturnType<TokenIntrospector['inspect']>>;
    try {
      info = await introspector.inspect(token);
    } catch (error) {
      if (!(error instanceof IntrospectionUnavailableError)) throw error;
      counters.rejected.introspectionUnavailable += 1;
      res.status(503).json({ error: 'cannot validate the token now' });
      return;
    }
    if (!info.active) {
      counters.rejected.inactiveToken += 1;
      res.set(
        'www-authenticate',
        'Bearer realm="flaky-api", error="invalid_token", error_description="the token is not active"',
      );
      res.status(401).json({ error: 'invalid_token' });
      return;
    }
    if (options.requiredScope && !info.scopes.includes(options.requiredScope)) {
      counters.rejected.insufficientScope += 1;
      res.set(
        'www-authenticate',
        `Bearer realm="flaky-api", error="insufficient_scope", scope="${options.requiredScope}"`,
      );
      res.status(403).json({ error: 'insufficient_scope' });
      return;
    }
    lastToken = token;
    const fingerprint = tokenFingerprint(token);
    if (!seenFingerprints.has(fingerprint)) {
      seenFingerprints.add(fingerprint);
      log(`flaky-api: first request with token ${fingerprint} of client ${info.clientId ?? '?'}`);
    }

    // After authentication, as a real API counts: per client, whichever token it uses.
    const admission = quota.take(info.clientId ?? UNKNOWN_CLIENT, current.quotaPerSecond);
    if (admission !== undefined) {
      res.set(quotaHeaders(admission));
      if (!admission.accepted) {
        res.status(429).json({ error: 'quota exceeded' });
        return;
      }
    }

    if (fault === 'unauthorized') {
      counters.injected.unauthorized += 1;
      res.set(
        'www-authenticate',
        'Bearer realm="flaky-api", error="invalid_token", error_description="injected fault"',
      );
      res.status(401).json({ error: 'invalid_token' });
      return;
    }
    if (fault === 'error') {
      counters.injected.error += 1;
      const status = current.errorStatuses[Math.floor(random() * current.errorStatuses.length)]!;
      res.status(status).json({ error: 'injected fault' });
      return;
    }
    res.json(forecast(random));
  });

  app.use(
    '/admin',
    adminRouter({
      adminToken: options.adminToken,
      profile: () => profile,
      setProfile,
      revokeCurrentToken,
      canRevoke: options.revocationUrl !== undefined,
      stats,
    }),
  );

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(
    (error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
      const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
      if (status === 500) log(`flaky-api: internal error: ${error.message}`);
      res.status(status).json({ error: status === 500 ? 'internal error' : error.message });
    },
  );

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  log(`flaky-api: listening on ${url} with fault profile "${profile.name}"`);

  return {
    url,
    setProfile,
    profile: () => profile,
    stats,
    revokeCurrentToken,
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing.abort();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

import type { TokenOptions } from '../config/request-options.js';
import { parseOptions } from '../config/schema.js';
import type { ClientEvents } from '../pipeline/client-events.js';
import type { Strategy } from '../pipeline/types.js';
import { AuthCircuit } from './auth-circuit.js';
import { signClientAssertion } from './client-assertion.js';
import { certificateAgent } from './client-certificate.js';
import { discoverTokenEndpoint } from './discovery.js';
import { Dpop } from './dpop/dpop.js';
import { TokenEvents } from './events.js';
import { credentialKey } from './fingerprint.js';
import { type ClientCredentialsOptions, normalizeClientCredentials } from './options.js';
import { normalizeTokenSelector, tokenSchema } from './options-schema.js';
import { createReauthorizeStrategy } from './reauthorize-strategy.js';
import { memoryTokenStore } from './store/memory.js';
import { requestClientCredentialsToken } from './token-endpoint.js';
import { type LocalToken, systemClock, TokenManager } from './token-manager/index.js';
import { TokenManagers, type TokenTarget } from './token-managers.js';
import type { Authorization } from './types.js';

/** What {@link clientCredentials} returns: an `Authorization` plus direct token access. */
export interface ClientCredentialsAuthorization extends Authorization {
  /**
   * A token for use outside a Steadfast client (e.g. a gRPC call): the credential's own, or
   * the one `token` selects (other scopes, resource or audience). Prefer passing the
   * authorization to `createClient({ auth })`, which also handles 401s.
   */
  getToken(token?: TokenOptions): Promise<{
    readonly value: string;
    readonly type: string;
    readonly fingerprint: string;
  }>;
  /**
   * Report a 401 for a token obtained with {@link getToken}: invalidates exactly that token
   * (pass the same `token` selection it was obtained with).
   */
  invalidateToken(
    fingerprint: string,
    token?: TokenOptions,
  ): Promise<'deleted' | 'newer_present' | 'absent'>;
}

/**
 * OAuth2 client credentials (RFC 6749 §4.4) for `createClient({ auth })`: one token per
 * credential, cached in process (the hot path does no I/O), refreshed ahead of expiry by
 * one instance of the fleet, re-fetched at most once when a 401 storm hits (with a
 * {@link redisTokenStore}). Options are validated here, at construction; the secret
 * never appears in errors, logs or events.
 *
 * @example
 * const auth = clientCredentials({
 *   tokenUrl: 'https://idp.example.com/oauth2/token',
 *   clientId: 'billing-worker',
 *   clientSecret: process.env.CLIENT_SECRET!,
 *   scope: 'invoices.read',
 *   store: redisTokenStore({ url: process.env.REDIS_URL! }),
 * });
 * const api = createClient({ name: 'invoices', baseUrl: 'https://api.example.com', auth });
 */
export function clientCredentials(
  options: ClientCredentialsOptions,
): ClientCredentialsAuthorization {
  const config = normalizeClientCredentials(options);
  const store = config.store ?? memoryTokenStore();
  const tokenEvents = new TokenEvents();
  /** Aborted by the last close(): a token request or discovery in flight ends at once. */
  const closing = new AbortController();
  // A client certificate is presented by an Agent of our own, closed with the authorization
  // (a `dispatcher` given by the user is used as it is: it must present the certificate).
  const certificateDispatcher =
    config.certificate && !config.dispatcher ? certificateAgent(config.certificate) : undefined;
  const dispatcher = config.dispatcher ?? certificateDispatcher;
  // DPoP (RFC 9449): proofs for token requests and wire attempts, nonces, keys (dpop/dpop.ts).
  const dpop = config.dpop ? new Dpop(config.dpop) : undefined;
  let tokenEndpoint: Promise<string> | undefined = config.tokenUrl
    ? Promise.resolve(config.tokenUrl)
    : undefined;

  const resolveTokenEndpoint = (): Promise<string> => {
    if (!tokenEndpoint) {
      const discovery = discoverTokenEndpoint(
        config.issuer!,
        config.tokenEndpointTimeoutMs,
        dispatcher,
        closing.signal,
        config.certificate !== undefined,
      );
      tokenEndpoint = discovery;
      // A failed discovery is retried on the next fetch (after the backoff), not cached.
      discovery.catch(() => {
        if (tokenEndpoint === discovery) tokenEndpoint = undefined;
      });
    }
    return tokenEndpoint;
  };

  const assertionKey = config.assertionKey;
  const signAssertion = assertionKey
    ? (endpoint: string) =>
        signClientAssertion(
          {
            clientId: config.clientId,
            audience:
              config.assertionAudience === 'issuer'
                ? config.issuer!
                : config.assertionAudience === 'token_endpoint'
                  ? endpoint
                  : config.assertionAudience,
            lifetimeMs: config.assertionLifetimeMs,
            nowMs: Date.now(),
          },
          assertionKey,
        )
    : undefined;

  /** One token's manager: the credential's own target, or another a call names. */
  const newManager = ({ scopes, audience, resource }: TokenTarget) =>
    new TokenManager({
      credential: config.credential,
      key: credentialKey({
        endpoint: config.tokenUrl ?? config.issuer!,
        clientId: config.clientId,
        scopes,
        audience,
        resource,
        authMethod: config.clientAuthMethod,
        keyThumbprint: config.keyThumbprint,
        certificateThumbprint: config.certificate?.thumbprint,
        dpop: dpop?.credentialPart,
      }),
      store,
      events: tokenEvents,
      fetchToken: async (claims) =>
        requestClientCredentialsToken({
          requestScope: tokenEvents.requestScope,
          tokenEndpoint: await resolveTokenEndpoint(),
          clientId: config.clientId,
          clientSecret: config.clientSecret,
          authMethod: config.clientAuthMethod,
          signAssertion,
          scopes,
          audience,
          resource,
          claims,
          timeoutMs: config.tokenEndpointTimeoutMs,
          limits: {
            defaultLifetimeMs: config.defaultLifetimeMs,
            maxLifetimeMs: config.maxLifetimeMs,
            dpop: dpop !== undefined,
          },
          dpop,
          dispatcher,
          closing: closing.signal,
        }),
      timing: {
        hardSkewMs: config.hardSkewMs,
        hardSkewRatio: config.hardSkewRatio,
        softWindowRatio: config.softWindowRatio,
        minSoftWindowMs: config.minSoftWindowMs,
        maxSoftWindowMs: config.maxSoftWindowMs,
      },
      leaseMs: config.leaseMs,
      backoffMinMs: config.backoffMinMs,
      backoffMaxMs: config.backoffMaxMs,
      configurationErrorBackoffMs: config.configurationErrorBackoffMs,
      storeBreakMs: config.storeBreakMs,
      clock: systemClock,
      random: Math.random,
    });
  const managers = new TokenManagers(
    config.credential,
    { scopes: config.scopes, audience: config.audience, resource: config.resource },
    newManager,
  );
  const circuit = new AuthCircuit(
    {
      threshold: config.authCircuitThreshold,
      windowMs: config.authCircuitWindowMs,
      cooldownMs: config.authCircuitCooldownMs,
      maxCooldownMs: config.authCircuitMaxCooldownMs,
    },
    tokenEvents,
    config.credential,
    config.logError,
  );
  store.attach();
  let closed: Promise<void> | undefined;
  // Clients that use this authorization: each `client.close()` calls `close()`, and the
  // token, timers and store connection stay until the last of them is closed.
  let clients = 0;

  /** `getToken`'s selection, checked like a call's `token` (`InvalidConfigurationError`). */
  const selectorOf = (token: TokenOptions) =>
    normalizeTokenSelector(parseOptions(tokenSchema, token));

  const publicToken = (token: LocalToken) => ({
    value: token.value,
    type: token.type,
    fingerprint: token.fingerprint,
  });

  return {
    credential: config.credential,
    store,
    ...(config.certificate ? { clientCertificate: config.certificate } : {}),
    tokenEvents,
    createStrategy(events: ClientEvents): Strategy {
      clients += 1;
      return createReauthorizeStrategy(
        managers,
        circuit,
        {
          maxReauthorizations: config.maxReauthorizations,
          minTokenAgeMs: config.minTokenAgeMs,
          dpop,
        },
        events,
      );
    },
    async getToken(token?: TokenOptions) {
      const manager = managers.for(token && selectorOf(token));
      return publicToken(manager.peek() ?? (await manager.acquire()));
    },
    invalidateToken: (fingerprint: string, token?: TokenOptions) =>
      managers.for(token && selectorOf(token)).invalidate(fingerprint),
    close(): Promise<void> {
      if (clients > 1) {
        clients -= 1;
        return Promise.resolve();
      }
      clients = 0;
      closed ??= (async () => {
        for (const manager of managers.all()) manager.close();
        closing.abort(); // a token request in flight would hold its socket until its timeout
        await Promise.all([store.detach(), certificateDispatcher?.destroy()]);
      })();
      return closed;
    },
  };
}

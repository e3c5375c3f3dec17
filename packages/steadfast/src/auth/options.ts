// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (options.ts)

import type { Dispatcher } from 'undici';
import type { ClientCertificate } from './client-certificate.js';
import type { ClientAssertionAlgorithm, ClientSigningKey } from './client-key.js';
import type { TokenStore } from './store/types.js';
import type { ClientAuthMethod } from './token-endpoint.js';

export {
  CLIENT_CREDENTIALS_DEFAULTS,
  type NormalizedClientCredentials,
  normalizeClientCredentials,
} from './options-schema.js';

/**
 * DPoP (RFC 9449): tokens bound to a key the client holds. The token request carries a proof of
 * the key, the token comes back of type `DPoP`, and every wire attempt sends it as `Authorization:
 * DPoP …` with a fresh proof (`htm`, `htu`, `iat`, `jti`, `ath`, and the server’s `DPoP-Nonce`
 * once it gave one).
 */
export interface DpopOptions {
  /**
   * The key tokens are bound to: PEM, a private JWK or a node `KeyObject` (EC P-256, RSA ≥ 2048
   * bits, Ed25519). The same key on every instance lets the fleet share one token without the key
   * travelling through the store.
   *
   * @defaultValue a key made at construction (`signingAlgorithm`), shared with the token as `keySharing` says
   */
  readonly privateKey?: ClientSigningKey;
  /**
   * How proofs are signed; it must fit `privateKey`, and is the kind of key made when there is
   * none.
   *
   * @defaultValue from `privateKey` (EC P-256: ES256, RSA: RS256, RSA-PSS: PS256, Ed25519: EdDSA); `ES256` for a key made here
   */
  readonly signingAlgorithm?: 'ES256' | 'RS256' | 'PS256' | 'EdDSA';
  /**
   * Without `privateKey`: `'store'` sends the key with the token through the store (only
   * encrypted: a Redis store needs `encryptionKey`), so the fleet shares one token per rotation;
   * `'instance'` keeps each instance's key to itself, and each instance gets its own token.
   *
   * @defaultValue `'store'` when the store keeps records encrypted (the memory store, a Redis store with `encryptionKey`), else `'instance'`
   */
  readonly keySharing?: 'store' | 'instance';
}

/** Options of {@link clientCredentials}. Every duration is in milliseconds. */
export interface ClientCredentialsOptions {
  /**
   * The token endpoint. Give this or `issuer`.
   *
   * @defaultValue none
   */
  readonly tokenUrl?: string;
  /**
   * The authorization server's issuer; the token endpoint is discovered from
   * `/.well-known/oauth-authorization-server` (RFC 8414), then
   * `/.well-known/openid-configuration`, on the first token request.
   *
   * @defaultValue none
   */
  readonly issuer?: string;
  /** The client identifier registered with the authorization server. */
  readonly clientId: string;
  /**
   * Required with `client_secret_basic`, `client_secret_post` and `client_secret_jwt`; not used
   * with `private_key_jwt`, `tls_client_auth` and `self_signed_tls_client_auth`. Sent to the token
   * endpoint only (or used only to sign, with `client_secret_jwt`); never stored, logged or
   * emitted.
   *
   * @defaultValue none
   */
  readonly clientSecret?: string;
  /**
   * How the client authenticates to the token endpoint: the secret in a Basic header or in the
   * form (RFC 6749 §2.3.1), a signed client assertion (RFC 7523 §2.2): HS256 with the secret
   * (`client_secret_jwt`) or with `privateKey` (`private_key_jwt`), or the TLS client certificate
   * `clientCertificate` (RFC 8705 §2): issued by a CA the server trusts (`tls_client_auth`) or
   * registered with the server itself (`self_signed_tls_client_auth`).
   *
   * @defaultValue `'client_secret_basic'`
   */
  readonly clientAuthMethod?: ClientAuthMethod;
  /**
   * A TLS client certificate (RFC 8705): PEM `cert`, its `key` (PEM, or a private `KeyObject`;
   * `passphrase` for an encrypted PEM), and optional `ca` certificates trusted in addition to the
   * defaults. Required with `tls_client_auth` and `self_signed_tls_client_auth`, where it
   * authenticates the client; with any other method it is optional, for servers that bind tokens
   * to it (`cnf.x5t#S256`, RFC 8705 §3). Token requests present it through an undici Agent of
   * their own (unless `dispatcher` is given: that one must present it); a client built with this
   * authorization presents it on connections to the origins its token goes to (`baseUrl`'s and
   * `authOrigins`) and to no other. The credential is named by the certificate's SHA-256
   * thumbprint: a rotated certificate gets its own token.
   *
   * @defaultValue none
   */
  readonly clientCertificate?: ClientCertificate;
  /**
   * The private key of `private_key_jwt`: PEM (PKCS8, PKCS1, SEC1), a private JWK, or a node
   * `KeyObject`. Used only to sign assertions; a credential is named by the public key's
   * thumbprint (RFC 7638), never by private material.
   *
   * @defaultValue none
   */
  readonly privateKey?: ClientSigningKey;
  /**
   * The `kid` header of the assertion (`private_key_jwt`), for a server that holds several keys of
   * the client.
   *
   * @defaultValue the `kid` of a JWK `privateKey`, else none
   */
  readonly keyId?: string;
  /**
   * How the assertion is signed; it must fit the key (`client_secret_jwt`: HS256 only).
   *
   * @defaultValue HS256 with `client_secret_jwt`; from the key with `private_key_jwt` (RSA: RS256, RSA-PSS: PS256, EC P-256: ES256, Ed25519/Ed448: EdDSA)
   */
  readonly signingAlgorithm?: ClientAssertionAlgorithm;
  /**
   * The `aud` of the assertion: the token endpoint (RFC 7523), the issuer for servers that expect
   * it (needs `issuer`), or the URL the server knows itself by, when the client reaches it by
   * another name (a proxy, an internal host name): e.g. `'https://idp.example.com/oauth2/token'`.
   *
   * @defaultValue `'token_endpoint'`
   */
  readonly assertionAudience?: 'token_endpoint' | 'issuer' | (string & {});
  /**
   * How long a client assertion is valid (`exp` − `iat`); each token request signs a new one.
   *
   * @defaultValue `60_000` (1 min)
   */
  readonly assertionLifetimeMs?: number;
  /**
   * DPoP (RFC 9449): tokens bound to a key the client holds. The token request carries a proof of
   * the key, the token comes back of type `DPoP`, and every wire attempt sends it as
   * `Authorization: DPoP …` with a fresh proof (`htm`, `htu`, `iat`, `jti`, `ath`, and the
   * server’s `DPoP-Nonce` once it gave one). `true` or an object turns it on, `false` keeps it
   * off.
   *
   * @defaultValue off
   */
  readonly dpop?: DpopOptions | boolean;
  /**
   * Scopes, as a space-separated string or a list.
   *
   * @defaultValue none
   */
  readonly scope?: string | readonly string[];
  /**
   * `audience` form parameter (Auth0, Okta style).
   *
   * @defaultValue none
   */
  readonly audience?: string;
  /**
   * `resource` indicator (RFC 8707).
   *
   * @defaultValue none
   */
  readonly resource?: string;
  /**
   * Low-cardinality name for metrics, events and errors.
   *
   * @defaultValue `clientId`
   */
  readonly credential?: string;
  /**
   * Where tokens are shared.
   *
   * @defaultValue {@link memoryTokenStore} (this process only)
   */
  readonly store?: TokenStore;
  /**
   * undici dispatcher for the token endpoint (proxies, TLS options).
   *
   * @defaultValue undici's global dispatcher
   */
  readonly dispatcher?: Dispatcher;
  /**
   * Lifetime assumed when the response has no `expires_in`.
   *
   * @defaultValue `300_000` (5 min)
   */
  readonly defaultLifetimeMs?: number;
  /**
   * Longer `expires_in` values are rejected as malformed.
   *
   * @defaultValue `604_800_000` (7 d)
   */
  readonly maxLifetimeMs?: number;
  /**
   * Timeout of one token-endpoint request.
   *
   * @defaultValue `10_000` (10 s)
   */
  readonly tokenEndpointTimeoutMs?: number;
  /**
   * Fleet-wide refresh lease; must exceed `tokenEndpointTimeoutMs`.
   *
   * @defaultValue `12_000` (12 s)
   */
  readonly leaseMs?: number;
  /**
   * Never send a token closer than this to its expiry (capped at 10 % of the lifetime).
   *
   * @defaultValue `30_000` (30 s)
   */
  readonly hardSkewMs?: number;
  /**
   * Soft (refresh-ahead) window as a share of the lifetime, in (0, 0.5].
   *
   * @defaultValue `0.2` (20 %)
   */
  readonly softWindowRatio?: number;
  /**
   * Lower clamp of the soft window (never more than half the lifetime).
   *
   * @defaultValue `60_000` (1 min)
   */
  readonly minSoftWindowMs?: number;
  /**
   * Upper clamp of the soft window.
   *
   * @defaultValue `600_000` (10 min)
   */
  readonly maxSoftWindowMs?: number;
  /**
   * First backoff after a retryable token-endpoint failure; doubles per failure.
   *
   * @defaultValue `1_000` (1 s)
   */
  readonly backoffMinMs?: number;
  /**
   * Cap of that backoff (a longer `Retry-After` wins, up to 1 h).
   *
   * @defaultValue `60_000` (1 min)
   */
  readonly backoffMaxMs?: number;
  /**
   * Backoff after `invalid_client`, `invalid_scope`, `unauthorized_client`, ….
   *
   * @defaultValue `300_000` (5 min)
   */
  readonly configurationErrorBackoffMs?: number;
  /**
   * How long the store stays bypassed after a failure before it is probed again.
   *
   * @defaultValue `5_000` (5 s)
   */
  readonly storeBreakMs?: number;
  /**
   * Re-sends after a 401 per call, in [0, 3].
   *
   * @defaultValue `1`
   */
  readonly maxReauthorizations?: number;
  /**
   * A re-sent call rejected with a token younger than this counts toward the auth circuit.
   *
   * @defaultValue `30_000` (30 s)
   */
  readonly minTokenAgeMs?: number;
  /**
   * Fresh-token rejections within `authCircuitWindowMs` that open the auth circuit.
   *
   * @defaultValue `3`
   */
  readonly authCircuitThreshold?: number;
  /**
   * Window in which the rejections are counted.
   *
   * @defaultValue `60_000` (1 min)
   */
  readonly authCircuitWindowMs?: number;
  /**
   * First cool-down of the auth circuit; doubles per re-open.
   *
   * @defaultValue `30_000` (30 s)
   */
  readonly authCircuitCooldownMs?: number;
  /**
   * Cap of that cool-down.
   *
   * @defaultValue `600_000` (10 min)
   */
  readonly authCircuitMaxCooldownMs?: number;
  /**
   * Where the auth circuit writes its one error line.
   *
   * @defaultValue `console.error`
   */
  readonly logError?: (message: string) => void;
}

// Token management. The Redis store is not re-exported here, so importing this barrel does
// not load ioredis: it is its own package, `@steadfast/redis` (packages/redis).
export type { AuthCircuitOptions } from './auth-circuit.js';
export type { ClientCertificate, PresentedCertificate } from './client-certificate.js';
export { type ClientCredentialsAuthorization, clientCredentials } from './client-credentials.js';
export type { ClientAssertionAlgorithm, ClientSigningKey } from './client-key.js';
export {
  CONFIGURATION_ERROR_CODES,
  isTokenEndpointError,
  TokenEndpointError,
  type TokenEndpointFailureKind,
} from './errors.js';
export * from './events.js';
export { tokenFingerprint } from './fingerprint.js';
export { CLIENT_CREDENTIALS_DEFAULTS, type ClientCredentialsOptions } from './options.js';
export { memoryTokenStore } from './store/memory.js';
export type {
  InvalidationResult,
  StoredToken,
  StoreReadResult,
  TokenStore,
} from './store/types.js';
export type { ClientAuthMethod } from './token-endpoint.js';
export type { Authorization } from './types.js';
export { type Challenge, parseWwwAuthenticate } from './www-authenticate.js';

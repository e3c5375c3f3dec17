import { customOption, oneOfOption, optionsObject, type Resolved } from '../../config/schema.js';
import { type ClientSigningKey, readPrivateKey } from '../client-key.js';
import type { TokenStore } from '../store/types.js';
import {
  type DpopAlgorithm,
  type DpopKey,
  dpopKeyProblem,
  generateDpopKey,
  readDpopKey,
} from './dpop-key.js';

/**
 * The `dpop` option of `clientCredentials` (RFC 9449): validated with the other options at
 * construction; errors name `dpop.privateKey`, `dpop.signingAlgorithm`, `dpop.keySharing`
 * and never quote the key.
 */
export const dpopSchema = optionsObject(
  'DpopOptions',
  'DPoP (RFC 9449): tokens bound to a key the client holds. The token request carries a proof of the key, the token comes back of type `DPoP`, and every wire attempt sends it as `Authorization: DPoP …` with a fresh proof (`htm`, `htu`, `iat`, `jti`, `ath`, and the server’s `DPoP-Nonce` once it gave one).',
  {
    privateKey: customOption<ClientSigningKey>(
      (value) => {
        const key = readPrivateKey(value);
        return typeof key === 'string' ? key : undefined;
      },
      {
        type: 'ClientSigningKey',
        doc: 'The key tokens are bound to: PEM, a private JWK or a node `KeyObject` (EC P-256, RSA ≥ 2048 bits, Ed25519). The same key on every instance lets the fleet share one token without the key travelling through the store.',
        defaultText:
          'a key made at construction (`signingAlgorithm`), shared with the token as `keySharing` says',
      },
    ),
    signingAlgorithm: oneOfOption(['ES256', 'RS256', 'PS256', 'EdDSA'] as const, {
      doc: 'How proofs are signed; it must fit `privateKey`, and is the kind of key made when there is none.',
      defaultText:
        'from `privateKey` (EC P-256: ES256, RSA: RS256, RSA-PSS: PS256, Ed25519: EdDSA); `ES256` for a key made here',
    }),
    keySharing: oneOfOption(['store', 'instance'] as const, {
      doc: "Without `privateKey`: `'store'` sends the key with the token through the store (only encrypted: a Redis store needs `encryptionKey`), so the fleet shares one token per rotation; `'instance'` keeps each instance's key to itself, and each instance gets its own token.",
      defaultText:
        "`'store'` when the store keeps records encrypted (the memory store, a Redis store with `encryptionKey`), else `'instance'`",
    }),
  },
  [
    (o) => {
      const checked = dpopKeyProblem(o.privateKey, o.signingAlgorithm);
      return typeof checked === 'string' ? undefined : checked;
    },
    (o) =>
      o.privateKey !== undefined && o.keySharing !== undefined
        ? [
            'keySharing',
            'is not used with `privateKey`: every instance holding that key shares its tokens already',
          ]
        : undefined,
  ],
);

export type DpopOptionsResolved = Resolved<typeof dpopSchema>;

/** What may keep a private key: the store says it keeps records encrypted (or in process). */
export function storeKeepsKeys(store: TokenStore | undefined): boolean {
  return store === undefined || store.confidential === true;
}

/** The cross-check of `dpop.keySharing` against the store, for the top-level schema. */
export function keySharingProblem(
  dpop: DpopOptionsResolved | false | undefined,
  store: TokenStore | undefined,
): readonly [string, string] | undefined {
  if (!dpop) return undefined;
  if (dpop.keySharing !== 'store' || storeKeepsKeys(store)) return undefined;
  return [
    'dpop.keySharing',
    "'store' needs a store that keeps records encrypted: give the Redis store an `encryptionKey`, or use keySharing 'instance'",
  ];
}

/** How the fleet gets one key per token. */
export type DpopKeyMode =
  /** `dpop.privateKey`: every instance holds the same key. */
  | 'given'
  /** The instance's key travels with the token through the (encrypting) store. */
  | 'store'
  /** Each instance its own key, its own token. */
  | 'instance';

/** The `dpop` option after validation. */
export interface DpopConfig {
  readonly mode: DpopKeyMode;
  /** The given key, or the one made for this instance. */
  readonly key: DpopKey;
}

/** The validated option as the authorization uses it (a key is made here when none is given). */
export function normalizeDpop(
  dpop: DpopOptionsResolved | false | undefined,
  store: TokenStore | undefined,
): DpopConfig | undefined {
  if (!dpop) return undefined;
  const algorithm = dpopKeyProblem(dpop.privateKey, dpop.signingAlgorithm) as DpopAlgorithm;
  if (dpop.privateKey !== undefined) {
    return { mode: 'given', key: readDpopKey(dpop.privateKey, algorithm) };
  }
  const mode = dpop.keySharing ?? (storeKeepsKeys(store) ? 'store' : 'instance');
  return { mode, key: generateDpopKey(algorithm) };
}

import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import {
  algorithmProblem,
  type ClientSigningKey,
  defaultAlgorithm,
  publicKeyThumbprint,
  readPrivateKey,
} from '../client-key.js';

/**
 * The key a DPoP token is bound to (RFC 9449 §4.2): read from `dpop.privateKey` or made
 * here, its public JWK (what every proof carries in its header) and its RFC 7638 thumbprint
 * (the token's `cnf.jkt`). Messages name what is wrong, never the key.
 */

/** The algorithms a DPoP proof is signed with. */
export type DpopAlgorithm = 'ES256' | 'RS256' | 'PS256' | 'EdDSA';

export const DPOP_ALGORITHMS: readonly DpopAlgorithm[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];

/** A key ready to sign proofs with. */
export interface DpopKey {
  readonly algorithm: DpopAlgorithm;
  readonly privateKey: KeyObject;
  /** The public JWK of the proof header: public members only. */
  readonly publicJwk: Readonly<Record<string, string>>;
  /** RFC 7638 thumbprint of the public key: the `cnf.jkt` of tokens bound to it. */
  readonly thumbprint: string;
}

/** The public members of each key type (RFC 7518 §6), nothing private. */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['kty', 'n', 'e'],
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
};

function publicJwkOf(key: KeyObject): Record<string, string> {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as Record<string, string>;
  const members = PUBLIC_MEMBERS[jwk.kty!] ?? ['kty'];
  return Object.fromEntries(members.map((m) => [m, jwk[m]!]));
}

/** A {@link DpopKey} from a private KeyObject the algorithm fits (checked by the caller). */
export function dpopKeyOf(privateKey: KeyObject, algorithm: DpopAlgorithm): DpopKey {
  return {
    algorithm,
    privateKey,
    publicJwk: Object.freeze(publicJwkOf(privateKey)),
    thumbprint: publicKeyThumbprint(privateKey),
  };
}

/** A new key pair for `algorithm` (ES256: P-256, RS256/PS256: RSA 2048, EdDSA: Ed25519). */
export function generateDpopKey(algorithm: DpopAlgorithm): DpopKey {
  const { privateKey } =
    algorithm === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : algorithm === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return dpopKeyOf(privateKey, algorithm);
}

/**
 * What is wrong with `dpop.privateKey` / `dpop.signingAlgorithm`, as `[field, message]`, or
 * the algorithm to sign with. `field` is relative to `dpop`.
 */
export function dpopKeyProblem(
  value: ClientSigningKey | undefined,
  signingAlgorithm: DpopAlgorithm | undefined,
): DpopAlgorithm | readonly [string, string] {
  if (value === undefined) return signingAlgorithm ?? 'ES256';
  const key = readPrivateKey(value);
  if (typeof key === 'string') return ['privateKey', key];
  const fallback = defaultAlgorithm(key);
  const algorithm = signingAlgorithm ?? (fallback === 'HS256' ? undefined : fallback);
  if (algorithm === undefined) {
    return ['privateKey', `is a ${key.asymmetricKeyType} key: use an EC P-256, RSA or Ed25519 key`];
  }
  const problem = algorithmProblem(key, algorithm);
  if (problem !== undefined) return [signingAlgorithm ? 'signingAlgorithm' : 'privateKey', problem];
  return algorithm;
}

/** The user's key, already checked by {@link dpopKeyProblem}. */
export function readDpopKey(value: ClientSigningKey, algorithm: DpopAlgorithm): DpopKey {
  return dpopKeyOf(readPrivateKey(value) as KeyObject, algorithm);
}

/**
 * The private JWK (JSON) of a key, with its algorithm: how a key travels with its token
 * through a store that keeps it encrypted. Never logged, never in clear text in Redis.
 */
export function exportDpopKey(key: DpopKey): string {
  const jwk = key.privateKey.export({ format: 'jwk' }) as JsonWebKey;
  return JSON.stringify({ ...jwk, alg: key.algorithm });
}

/** A bounded cache of keys read back from the store, by their JWK text. */
export class SharedKeys {
  readonly #keys = new Map<string, DpopKey>();
  readonly #max: number;

  constructor(max = 8) {
    this.#max = max;
  }

  /** The key of an exported JWK, or `undefined` when it cannot be used. */
  read(exported: string): DpopKey | undefined {
    const known = this.#keys.get(exported);
    if (known !== undefined) return known;
    let key: DpopKey | undefined;
    try {
      const { alg, ...jwk } = JSON.parse(exported) as JsonWebKey & { alg?: unknown };
      const algorithm = DPOP_ALGORITHMS.find((a) => a === alg);
      if (algorithm === undefined) return undefined;
      const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
      if (algorithmProblem(privateKey, algorithm) !== undefined) return undefined;
      key = dpopKeyOf(privateKey, algorithm);
    } catch {
      return undefined;
    }
    if (this.#keys.size >= this.#max) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(exported, key);
    return key;
  }
}

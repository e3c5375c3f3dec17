/**
 * The parts of DPoP without sockets: proofs (RFC 9449 §4.2) verify with the key in their
 * header for every algorithm, carry `htu` without query or fragment, `ath` of the token, a
 * `jti` never repeated, and no private key member; the nonce memory is bounded and never
 * lets a late answer bring back a stale nonce; the Redis record codec carries the key only
 * inside its AES-256-GCM envelope.
 */
import { constants, createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecordCodec } from '../../../packages/redis/src/record-codec.js';
import {
  type DpopAlgorithm,
  exportDpopKey,
  generateDpopKey,
  SharedKeys,
} from '../../../packages/steadfast/src/auth/dpop/dpop-key.js';
import { htuOf, signDpopProof } from '../../../packages/steadfast/src/auth/dpop/dpop-proof.js';
import { NonceMemory } from '../../../packages/steadfast/src/auth/dpop/nonce-memory.js';
import { tokenFingerprint } from '../../../packages/steadfast/src/auth/fingerprint.js';
import type { StoredToken } from '../../../packages/steadfast/src/auth/store/types.js';

function decode(jwt: string) {
  const [h, c, s] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(c!, 'base64url').toString()) as Record<string, unknown>,
    data: Buffer.from(`${h}.${c}`),
    signature: Buffer.from(s!, 'base64url'),
  };
}

function verifies(jwt: string): boolean {
  const { header, data, signature } = decode(jwt);
  const key = createPublicKey({ key: header.jwk as never, format: 'jwk' });
  switch (header.alg) {
    case 'ES256':
      return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'RS256':
      return verify('sha256', data, key, signature);
    case 'PS256':
      return verify(
        'sha256',
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      );
    default:
      return verify(null, data, key, signature);
  }
}

describe('DPoP proofs', () => {
  it.each(['ES256', 'RS256', 'PS256', 'EdDSA'] as DpopAlgorithm[])(
    'a %s proof verifies with the public key of its header, which has no private member',
    (algorithm) => {
      const key = generateDpopKey(algorithm);
      const proof = signDpopProof(
        { htm: 'GET', url: 'https://api.example/a/b?q=1#f', nowMs: 1_700_000_000_500 },
        key,
      );
      expect(verifies(proof)).toBe(true);
      const { header, claims } = decode(proof);
      expect(header.typ).toBe('dpop+jwt');
      expect(header.alg).toBe(algorithm);
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
        expect(header.jwk as object).not.toHaveProperty(member);
      expect(claims).toEqual({
        jti: expect.any(String),
        htm: 'GET',
        htu: 'https://api.example/a/b',
        iat: 1_700_000_000,
      });
    },
  );

  it('carries ath and the nonce when given, and never the same jti twice', () => {
    const key = generateDpopKey('ES256');
    const token = 'eyJ.token.value';
    const jtis = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { claims } = decode(
        signDpopProof(
          { htm: 'POST', url: 'http://127.0.0.1:9/x', nonce: 'n-1', accessToken: token, nowMs: 0 },
          key,
        ),
      );
      expect(claims.ath).toBe(createHash('sha256').update(token).digest('base64url'));
      expect(claims.nonce).toBe('n-1');
      jtis.add(claims.jti as string);
    }
    expect(jtis.size).toBe(200);
    expect(htuOf('HTTP://Example.COM:80/p?x#y')).toBe('http://example.com/p');
  });

  it('a key read back from its export signs proofs of the same thumbprint', () => {
    const key = generateDpopKey('EdDSA');
    const exported = exportDpopKey(key);
    const keys = new SharedKeys(2);
    const read = keys.read(exported)!;
    expect(read.thumbprint).toBe(key.thumbprint);
    expect(keys.read(exported)).toBe(read); // cached
    expect(keys.read('{"kty":"EC"}')).toBeUndefined();
    expect(keys.read('not json')).toBeUndefined();
  });
});

describe('nonce memory', () => {
  it('keeps the nonce of the latest request sent, whatever order the answers come in', () => {
    const nonces = new NonceMemory();
    const early = nonces.ticket();
    const late = nonces.ticket();
    nonces.remember('http://a', 'fresh', late);
    nonces.remember('http://a', 'stale', early); // the earlier request's answer, read late
    expect(nonces.get('http://a')).toBe('fresh');
    nonces.remember('http://a', 'fresher', nonces.ticket());
    expect(nonces.get('http://a')).toBe('fresher');
    nonces.remember('http://a', 'bad "nonce"', nonces.ticket());
    nonces.remember('http://a', undefined, nonces.ticket());
    expect(nonces.get('http://a')).toBe('fresher');
    expect(nonces.get('http://b')).toBeUndefined();
  });

  it('forgets the origin used longest ago past its bound', () => {
    const nonces = new NonceMemory(3);
    for (const origin of ['a', 'b', 'c']) nonces.remember(origin, `n-${origin}`, nonces.ticket());
    nonces.get('a');
    nonces.remember('d', 'n-d', nonces.ticket());
    expect(nonces.size).toBe(3);
    expect(nonces.get('b')).toBeUndefined();
    expect(nonces.get('a')).toBe('n-a');
  });
});

describe('the Redis record of a DPoP token', () => {
  const key = generateDpopKey('ES256');
  const value = 'dpop-token-value';
  const token: StoredToken = {
    value,
    fingerprint: tokenFingerprint(value),
    type: 'DPoP',
    issuedAt: 1,
    lifetimeMs: 60_000,
    generation: 3,
    dpopKey: exportDpopKey(key),
  };

  it('carries the key inside the encrypted envelope only, and reads it back', () => {
    const codec = new RecordCodec(randomBytes(32));
    const record = codec.encode('p:tok:{k}', token);
    expect(record.startsWith(`${token.fingerprint}|e1:`)).toBe(true);
    const d = (JSON.parse(token.dpopKey!) as { d: string }).d;
    for (const secret of ['"d":', d, value]) expect(record).not.toContain(secret);
    expect(codec.decode('p:tok:{k}', record)).toEqual(token);
    expect(codec.decode('p:tok:{other}', record)).toBeUndefined();
  });

  it('refuses to write the key without an encryption key, and never reads one from clear text', () => {
    const plain = new RecordCodec(undefined);
    expect(() => plain.encode('p:tok:{k}', token)).toThrow(/encryptionKey/);
    const { dpopKey: _, ...withoutKey } = token;
    const record = plain.encode('p:tok:{k}', withoutKey);
    expect(plain.decode('p:tok:{k}', record)).toEqual(withoutKey);
    const forged = record.replace('"gen":3', `"gen":3,"k":${JSON.stringify(token.dpopKey)}`);
    expect(forged).toContain('"k":');
    expect(plain.decode('p:tok:{k}', forged)).toBeUndefined();
    const other = record.replace('"t":"DPoP"', '"t":"MAC"');
    expect(plain.decode('p:tok:{k}', other)).toBeUndefined();
  });
});

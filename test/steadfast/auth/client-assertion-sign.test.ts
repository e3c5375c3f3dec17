/**
 * The client assertion itself, without sockets: each algorithm's signature verifies with the
 * public key (JWS encodings: raw r||s for ES256, PSS salt = hash length), and the claims
 * follow the clock it is given.
 */
import {
  constants,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  verify,
} from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signClientAssertion } from '../../../packages/steadfast/src/auth/client-assertion.js';
import { publicKeyThumbprint } from '../../../packages/steadfast/src/auth/client-key.js';

const claims = {
  clientId: 'c',
  audience: 'https://idp/token',
  lifetimeMs: 60_000,
  nowMs: 1_700_000_000_500,
};
const parts = (jwt: string) => jwt.split('.') as [string, string, string];
const json = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString());

describe('signClientAssertion', () => {
  const keys: [
    string,
    KeyObject,
    KeyObject,
    (data: Buffer, sig: Buffer, key: KeyObject) => boolean,
  ][] = [
    ...(['RS256', 'PS256'] as const).map((alg) => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      return [
        alg,
        privateKey,
        publicKey,
        (data: Buffer, sig: Buffer, key: KeyObject) =>
          verify(
            'sha256',
            data,
            alg === 'PS256'
              ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
              : key,
            sig,
          ),
      ] as [string, KeyObject, KeyObject, (d: Buffer, s: Buffer, k: KeyObject) => boolean];
    }),
    (() => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return [
        'ES256',
        privateKey,
        publicKey,
        (data: Buffer, sig: Buffer, key: KeyObject) =>
          sig.length === 64 && verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig),
      ] as [string, KeyObject, KeyObject, (d: Buffer, s: Buffer, k: KeyObject) => boolean];
    })(),
    (() => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      return [
        'EdDSA',
        privateKey,
        publicKey,
        (data: Buffer, sig: Buffer, key: KeyObject) => verify(null, data, key, sig),
      ] as [string, KeyObject, KeyObject, (d: Buffer, s: Buffer, k: KeyObject) => boolean];
    })(),
  ];

  it.each(keys)(
    'signs %s so that the public key verifies it',
    (alg, privateKey, publicKey, check) => {
      const jwt = signClientAssertion(claims, {
        algorithm: alg as 'RS256',
        key: privateKey,
        keyId: 'k',
      });
      const [header, payload, signature] = parts(jwt);
      expect(json(header)).toEqual({ alg, typ: 'JWT', kid: 'k' });
      expect(
        check(Buffer.from(`${header}.${payload}`), Buffer.from(signature, 'base64url'), publicKey),
      ).toBe(true);
    },
  );

  it('signs HS256 with the secret and carries the claims of RFC 7523 §3', () => {
    const jwt = signClientAssertion(claims, { algorithm: 'HS256', secret: 's3cret' });
    const [header, payload, signature] = parts(jwt);
    expect(json(header)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(createHmac('sha256', 's3cret').update(`${header}.${payload}`).digest('base64url')).toBe(
      signature,
    );
    const body = json(payload);
    expect(body).toMatchObject({
      iss: 'c',
      sub: 'c',
      aud: 'https://idp/token',
      iat: 1_700_000_000,
      exp: 1_700_000_060,
    });
    expect(body.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never repeats a jti', () => {
    const jtis = new Set(
      Array.from(
        { length: 1000 },
        () => json(parts(signClientAssertion(claims, { algorithm: 'HS256', secret: 's' }))[1]).jti,
      ),
    );
    expect(jtis.size).toBe(1000);
  });
});

describe('publicKeyThumbprint', () => {
  it('is the RFC 7638 §3.1 example thumbprint', () => {
    // The RSA key of RFC 7638 §3.1 (public part); its thumbprint is given there.
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    const privateless = { kty: 'RSA', n, e: 'AQAB' };
    expect(publicKeyThumbprint(createPublicKey({ key: privateless, format: 'jwk' }))).toBe(
      'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    );
  });
});

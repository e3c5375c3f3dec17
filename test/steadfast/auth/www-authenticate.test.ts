import { describe, expect, it } from 'vitest';
import {
  claimsChallenge,
  decideOnChallenges,
  parseWwwAuthenticate,
} from '../../../packages/steadfast/src/auth/www-authenticate.js';

describe('WWW-Authenticate parsing', () => {
  it('reads several challenges in one header, with quoted commas and escaped quotes', () => {
    const challenges = parseWwwAuthenticate(
      'Basic realm="legacy, old", Bearer realm="api", error="invalid_token", error_description="say \\"hi\\", then go"',
    );
    expect(challenges).toEqual([
      { scheme: 'basic', params: { realm: 'legacy, old' } },
      {
        scheme: 'bearer',
        params: { realm: 'api', error: 'invalid_token', error_description: 'say "hi", then go' },
      },
    ]);
  });

  it('reads challenges split over several header lines, token68 values and bare schemes', () => {
    const challenges = parseWwwAuthenticate(['Negotiate abc123==', 'DPoP algs="ES256"', 'Bearer']);
    expect(challenges.map((c) => c.scheme)).toEqual(['negotiate', 'dpop', 'bearer']);
    expect(challenges[0]!.params.token68).toBe('abc123==');
    expect(challenges[1]!.params.algs).toBe('ES256');
  });

  it('reads garbage as far as it goes, without throwing', () => {
    expect(parseWwwAuthenticate('=,,"unterminated')).toEqual([
      { scheme: 'unterminated', params: {} },
    ]);
    expect(parseWwwAuthenticate('Bearer realm="x')).toEqual([
      { scheme: 'bearer', params: { realm: 'x' } },
    ]);
    expect(parseWwwAuthenticate(',,,')).toEqual([]);
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
  });

  it('re-authorizes on invalid_token, on no error code, on unknown errors and on no header at all', () => {
    const decide = (h: string | undefined) => decideOnChallenges(parseWwwAuthenticate(h));
    expect(decide('Bearer error="invalid_token"')).toBe('reauthorize');
    expect(decide('Bearer realm="api"')).toBe('reauthorize');
    expect(decide('Bearer error="something_new"')).toBe('reauthorize');
    expect(decide(undefined)).toBe('reauthorize');
  });

  it('returns insufficient_scope as is, even when another challenge comes first', () => {
    const decide = (h: string) => decideOnChallenges(parseWwwAuthenticate(h));
    expect(decide('Basic realm="x", Bearer error="insufficient_scope", scope="a b"')).toBe(
      'insufficient_scope',
    );
    // A DPoP token's challenge counts as a Bearer one (RFC 9449 §7.1); other schemes do not.
    expect(decide('DPoP error="insufficient_scope"')).toBe('insufficient_scope');
    expect(decide('Basic error="insufficient_scope"')).toBe('reauthorize');
  });
});

describe('claimsChallenge', () => {
  const claims = { access_token: { nbf: { essential: true, value: '1733300000' } } };
  const json = JSON.stringify(claims);
  const of = (header: string) => claimsChallenge(parseWwwAuthenticate(header));

  it('reads the claims as Entra sends them (base64), as base64url and as plain JSON', () => {
    const b64 = Buffer.from(json).toString('base64');
    const b64url = Buffer.from(json).toString('base64url');
    expect(of(`Bearer realm="", error="insufficient_claims", claims="${b64}"`)).toBe(json);
    expect(of(`Bearer error="insufficient_claims", claims="${b64url}"`)).toBe(json);
    const quoted = json.replace(/"/g, '\\"');
    expect(of(`Bearer error="insufficient_claims", claims="${quoted}"`)).toBe(json);
    expect(of(`DPoP error="insufficient_claims", claims="${b64}"`)).toBe(json);
  });

  it('is undefined without a claims challenge, or when its claims are not a JSON object', () => {
    const b64 = Buffer.from(json).toString('base64');
    expect(of(`Bearer error="invalid_token", claims="${b64}"`)).toBeUndefined();
    expect(of('Bearer error="insufficient_claims"')).toBeUndefined();
    expect(of(`Basic error="insufficient_claims", claims="${b64}"`)).toBeUndefined();
    expect(of('Bearer error="insufficient_claims", claims="not json"')).toBeUndefined();
    const array = Buffer.from('[1,2]').toString('base64');
    expect(of(`Bearer error="insufficient_claims", claims="${array}"`)).toBeUndefined();
    const huge = Buffer.from(JSON.stringify({ a: 'x'.repeat(20_000) })).toString('base64');
    expect(of(`Bearer error="insufficient_claims", claims="${huge}"`)).toBeUndefined();
  });
});

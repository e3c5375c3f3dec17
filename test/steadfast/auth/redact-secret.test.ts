import { describe, expect, it } from 'vitest';
import {
  carriesSecret,
  formEncode,
  secretRedactor,
  secretsRedactor,
} from '../../../packages/steadfast/src/auth/redact-secret.js';

const CLIENT_ID = 'worker id';
const SECRET = 'p@ss wörd/1';
const redact = secretRedactor(CLIENT_ID, SECRET);
const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');

describe('redacting the client secret', () => {
  it('form-encodes as RFC 6749 asks for Basic credentials: spaces as +', () => {
    expect(formEncode('a b/c+d')).toBe('a+b%2Fc%2Bd');
  });

  it('hides the secret as written, form- and percent-encoded (either hex case) and JSON-escaped', () => {
    for (const form of [
      SECRET,
      formEncode(SECRET),
      encodeURIComponent(SECRET),
      encodeURIComponent(SECRET).toLowerCase(),
      JSON.stringify(SECRET).slice(1, -1),
    ]) {
      expect(redact(`error: bad ${form}!`), form).toBe('error: bad [redacted]!');
    }
  });

  it('hides a whole Basic header value, not a readable piece of it', () => {
    const header = b64(`${formEncode(CLIENT_ID)}:${formEncode(SECRET)}`);
    expect(redact(`Basic ${header}`)).toBe('Basic [redacted]');
  });

  it('leaves text without the secret as it is, and says whether there was one', () => {
    expect(redact('invalid_client: unknown client')).toBe('invalid_client: unknown client');
    expect(carriesSecret('invalid_client', redact)).toBe(false);
    expect(carriesSecret(`echo ${encodeURIComponent(SECRET)}`, redact)).toBe(true);
  });

  it('reads the secret literally, not as a pattern', () => {
    const dotted = secretRedactor('id', 'a.c');
    expect(dotted('abc a.c')).toBe('abc [redacted]');
  });
});

describe('redacting a client assertion', () => {
  it('hides the assertion, its signature and the secret, as sent and as re-quoted', () => {
    const assertion = 'eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJjIn0.c2lnbmF0dXJlLXNlY3JldA';
    const signature = assertion.split('.')[2]!;
    const hide = secretsRedactor('c', ['s3cret', assertion, signature]);
    const echoed = `bad client_assertion=${encodeURIComponent(assertion)}; sig ${signature}; key s3cret`;
    const shown = hide(echoed);
    for (const secret of [assertion, signature, 's3cret']) expect(shown).not.toContain(secret);
    expect(shown).toContain('bad client_assertion=');
  });

  it('hides a long secret whole even when a short one occurs inside it', () => {
    // A one-letter client secret that happens to be in the proof: redacting it first would
    // cut the proof into pieces that no longer match, and show most of it.
    const proof = 'eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJqdGkiOiJ5eXkifQ.c2lnbmF0dXJlLXk';
    const hide = secretsRedactor('c', ['y', proof, proof.split('.')[2]!]);
    const shown = hide(`rejected ${proof}; y`);
    expect(shown).toBe('rejected [redacted]; [redacted]');
  });
});

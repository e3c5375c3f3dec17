/**
 * Hides the client secret from anything the identity provider sends back before it is
 * shown (error codes, `error_description`, token types): a token endpoint that echoes the
 * request would otherwise put the secret into an error message in one of the forms the
 * request carried it in.
 */

const MARK = '[redacted]';

/** RFC 6749 §2.3.1 encoding of the Basic credentials: form-urlencoding, spaces as `+`. */
export function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** `application/x-www-form-urlencoded` as URLSearchParams writes it (a `client_secret_post` body). */
function urlSearchParamsEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

function base64Forms(text: string): string[] {
  const base64 = Buffer.from(text, 'utf8').toString('base64');
  const base64url = Buffer.from(text, 'utf8').toString('base64url');
  return [base64, base64.replace(/=+$/, ''), base64url];
}

/** Every way the secret may come back: as sent (Basic header, form body) and as re-quoted. */
function secretForms(clientId: string, clientSecret: string): string[] {
  const encodings = [
    clientSecret,
    formEncode(clientSecret),
    encodeURIComponent(clientSecret),
    urlSearchParamsEncode(clientSecret),
    encodeURIComponent(formEncode(clientSecret)), // encoded twice (a URL inside a URL)
    JSON.stringify(clientSecret).slice(1, -1),
    JSON.stringify(clientSecret)
      .slice(1, -1)
      .replace(/\//g, '\\/') // PHP-style escaped slashes
      .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    clientSecret
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;'),
  ];
  const forms = [...encodings];
  // Percent-escapes come back in either case (`%2F` or `%2f`).
  for (const e of encodings)
    if (e.includes('%')) forms.push(e.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  // The Basic header value, as sent (form-encoded pair) and as a naive client would send it.
  forms.push(...base64Forms(`${formEncode(clientId)}:${formEncode(clientSecret)}`));
  forms.push(...base64Forms(`${clientId}:${clientSecret}`));
  forms.push(...base64Forms(clientSecret));
  return forms;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A function that replaces every known encoding of `clientSecret` in a text with
 * `[redacted]`: the literal secret, its form-urlencoded and percent-encoded forms (either
 * hex case), JSON- and HTML-escaped forms, and base64/base64url (padded or not) of the
 * secret, of `clientId:clientSecret` and of the form-encoded pair — so a whole
 * `Basic …` header value is hidden too. Longer forms are matched first.
 */
export function secretRedactor(clientId: string, clientSecret: string): (text: string) => string {
  return secretsRedactor(clientId, [clientSecret]);
}

/** True when `text` holds any encoding of the secret `redact` knows. */
export function carriesSecret(text: string, redact: (text: string) => string): boolean {
  return redact(text) !== text;
}

/**
 * {@link secretRedactor} for several secrets at once (the client secret, a client
 * assertion and its signature, a DPoP proof): every encoding of each is replaced, in one
 * pass, longest first — so a short secret that happens to occur inside a longer one (a
 * one-letter secret inside a proof) cannot break the longer one up and leave the rest of it
 * readable.
 */
export function secretsRedactor(
  clientId: string,
  secrets: readonly string[],
): (text: string) => string {
  const forms = [
    ...new Set(secrets.filter((s) => s.length > 0).flatMap((s) => secretForms(clientId, s))),
  ]
    .filter((form) => form.length > 0)
    .sort((a, b) => b.length - a.length);
  if (forms.length === 0) return (text) => text;
  const pattern = new RegExp(forms.map(escapeRegExp).join('|'), 'g');
  return (text) => text.replace(pattern, MARK);
}

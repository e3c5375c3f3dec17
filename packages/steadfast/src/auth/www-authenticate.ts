/** One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1). */
export interface Challenge {
  /** Lower-case auth scheme (`bearer`, `dpop`, `basic`, ...). */
  readonly scheme: string;
  /** Auth parameters with lower-case names; a token68 lands under `token68`. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parse a `WWW-Authenticate` value with any number of challenges, e.g.
 * `Basic realm="x", Bearer realm="api", error="invalid_token", error_description="a, b"`.
 * Quoted strings may hold commas and escaped quotes. Unparseable input yields what could
 * be read so far, never an exception: the 401 path treats unknown as "no error code".
 */
export function parseWwwAuthenticate(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const n = text.length;
  const skipSpaces = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  const readQuoted = () => {
    let value = '';
    i++; // opening quote
    while (i < n && text[i] !== '"') {
      if (text[i] === '\\' && i + 1 < n) i++;
      value += text[i];
      i++;
    }
    i++; // closing quote
    return value;
  };

  while (i < n) {
    skipSpaces();
    if (text[i] === ',') {
      i++;
      continue;
    }
    const token = readToken();
    if (!token) {
      i++; // skip a character we do not understand
      continue;
    }
    skipSpaces();
    if (text[i] === '=') {
      // `name=value` belongs to the current challenge; `token68=` is handled below.
      const current = challenges[challenges.length - 1];
      const save = i;
      i++;
      skipSpaces();
      if (text[i] === '=' || text[i] === ',' || i >= n) {
        // token68 padding such as `abc==`
        i = save;
        while (i < n && text[i] === '=') i++;
        if (current) current.params.token68 = `${token}${text.slice(save, i)}`;
        continue;
      }
      const value = text[i] === '"' ? readQuoted() : readToken();
      if (current) current.params[token.toLowerCase()] = value;
      continue;
    }
    // A new challenge: `scheme` optionally followed by a token68 or parameters.
    challenges.push({ scheme: token.toLowerCase(), params: {} });
  }
  return challenges;
}

/** Longest claims a claims challenge may ask for (decoded); longer ones are not followed. */
const MAX_CLAIMS_CHARS = 8192;

/**
 * The claims of a claims challenge (`error="insufficient_claims", claims="…"`, as Microsoft
 * Entra's continuous access evaluation sends it on a Bearer or DPoP challenge), as the JSON
 * object text to request a new token with; `undefined` when there is none, or when its
 * `claims` is neither a JSON object nor base64(url) of one.
 */
export function claimsChallenge(challenges: readonly Challenge[]): string | undefined {
  for (const { scheme, params } of challenges) {
    if (scheme !== 'bearer' && scheme !== 'dpop') continue;
    if (params.error !== 'insufficient_claims' || params.claims === undefined) continue;
    const given = params.claims.trim();
    if (given.length > MAX_CLAIMS_CHARS * 2) return undefined;
    const text = given.startsWith('{') ? given : Buffer.from(given, 'base64').toString('utf8');
    try {
      const value: unknown = JSON.parse(text);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
      const claims = JSON.stringify(value);
      return claims.length <= MAX_CLAIMS_CHARS ? claims : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** What the 401 path should do, from the response's challenges. */
export type ChallengeDecision = 'reauthorize' | 'insufficient_scope';

/**
 * RFC 6750 §3.1: `invalid_token`, or a Bearer challenge with no error code → re-authorize;
 * `insufficient_scope` → a new token will not help. Anything else (an unknown error, no
 * header at all, non-Bearer challenges only) is read as "no error code".
 */
export function decideOnChallenges(challenges: readonly Challenge[]): ChallengeDecision {
  for (const challenge of challenges) {
    // A DPoP token's challenges use the same error codes (RFC 9449 §7.1).
    if (challenge.scheme !== 'bearer' && challenge.scheme !== 'dpop') continue;
    if (challenge.params.error === 'insufficient_scope') return 'insufficient_scope';
  }
  return 'reauthorize';
}

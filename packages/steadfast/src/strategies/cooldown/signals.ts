import type { CooldownSource } from '../../pipeline/events.js';
import { parseRetryAfter } from '../retry/retry-after.js';

type HeaderValue = string | string[] | undefined;
type Headers = Record<string, HeaderValue>;

/** A pause a response asks for: how long, and which header said so. */
export interface CooldownSignal {
  readonly ms: number;
  readonly source: CooldownSource;
}

/**
 * The pause a response asks for, if any:
 * 1. `429` or `503` with `Retry-After` (seconds or an HTTP-date) → `retry_after`;
 * 2. a quota with nothing left in the IETF httpapi `RateLimit` header — the structured form
 *    of the current draft (`"default";r=0;t=30`), the earlier one-header form
 *    (`limit=100, remaining=0, reset=30`), or `RateLimit-Remaining: 0` with
 *    `RateLimit-Reset` (delta seconds) → `ratelimit`;
 * 3. `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset` (delta seconds, or a Unix time in
 *    seconds or milliseconds, as GitHub and others send it) → `x_ratelimit`.
 * `undefined` when the response asks for no pause (or for one of 0 ms).
 */
export function cooldownSignal(
  status: number,
  headers: Headers,
  nowMs = Date.now(),
): CooldownSignal | undefined {
  if (status === 429 || status === 503) {
    const ms = parseRetryAfter(headers['retry-after'], nowMs);
    if (ms !== undefined && ms > 0) return { ms, source: 'retry_after' };
  }
  const ratelimit = ratelimitReset(headers);
  if (ratelimit !== undefined && ratelimit > 0) return { ms: ratelimit, source: 'ratelimit' };
  const x = xRatelimitReset(headers, nowMs);
  if (x !== undefined && x > 0) return { ms: x, source: 'x_ratelimit' };
  return undefined;
}

function first(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A non-negative decimal number, or `undefined`. */
function number(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  return /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : undefined;
}

/** ms until the quota of an exhausted `RateLimit` policy resets, or `undefined`. */
function ratelimitReset(headers: Headers): number | undefined {
  const combined = first(headers.ratelimit);
  if (combined !== undefined) {
    let longest: number | undefined;
    for (const item of splitList(combined)) {
      const params = parameters(item);
      // Current draft: r (remaining) and t (seconds to reset); earlier: remaining and reset.
      const remaining = number(params.get('r') ?? params.get('remaining'));
      // Without t, the policy's window (`RateLimit-Policy: "name";q=100;w=60`) bounds the wait.
      const reset =
        number(params.get('t') ?? params.get('reset')) ?? policyWindow(headers, policyName(item));
      if (remaining === 0 && reset !== undefined) longest = Math.max(longest ?? 0, reset * 1000);
    }
    if (longest !== undefined) return longest;
  }
  const remaining = number(first(headers['ratelimit-remaining']));
  const reset = number(first(headers['ratelimit-reset']));
  return remaining === 0 && reset !== undefined ? reset * 1000 : undefined;
}

/** ms until an `X-RateLimit-Reset` when `X-RateLimit-Remaining` is 0, or `undefined`. */
function xRatelimitReset(headers: Headers, nowMs: number): number | undefined {
  if (number(first(headers['x-ratelimit-remaining'])) !== 0) return undefined;
  const reset = number(first(headers['x-ratelimit-reset']));
  if (reset === undefined) return undefined;
  if (reset > 1e12) return reset - nowMs; // a Unix time in ms
  if (reset > 1e9) return reset * 1000 - nowMs; // a Unix time in seconds
  return reset * 1000; // delta seconds
}

/** The members of a structured-field list (or a comma-separated header), quotes respected. */
function splitList(text: string): string[] {
  const items: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && text[i - 1] !== '\\') quoted = !quoted;
    else if (c === ',' && !quoted) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  // The earlier one-header form is one policy spread over the list: `limit=100, remaining=0, reset=30`.
  if (items.every((item) => /^\s*[a-z-]+=/i.test(item) && !item.includes(';'))) {
    return [items.join(';')];
  }
  return items;
}

/** The policy name a structured member starts with (`"default"`), or `undefined`. */
function policyName(item: string): string | undefined {
  const name = item.split(';', 1)[0]!.trim();
  return name.includes('=') ? undefined : name.replace(/^"|"$/g, '');
}

/** `w` (seconds) of the named policy in `RateLimit-Policy`, or of its only policy. */
function policyWindow(headers: Headers, name: string | undefined): number | undefined {
  const text = first(headers['ratelimit-policy']);
  if (text === undefined) return undefined;
  const items = splitList(text);
  const item =
    items.find((candidate) => policyName(candidate) === name) ??
    (items.length === 1 ? items[0] : undefined);
  return item === undefined ? undefined : number(parameters(item).get('w'));
}

/** `key=value` parameters of a list member (`"default";r=0;t=30`), keys lower-cased. */
function parameters(item: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of item.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    params.set(
      part.slice(0, eq).trim().toLowerCase(),
      part
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, ''),
    );
  }
  return params;
}

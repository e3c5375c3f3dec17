/**
 * Parse a `Retry-After` header (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
 * Returns milliseconds to wait (≥ 0), or `undefined` when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  nowMs = Date.now(),
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form starts with a day name; without this, Date.parse would read "1.5" or
  // "-5" as a date long past and the retry would go at once instead of after its backoff.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

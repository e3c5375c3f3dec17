/**
 * The Lua scripts of the Redis token store. Each multi-step operation is one script, so it
 * is atomic; ioredis `defineCommand` runs them with EVALSHA and falls back to EVAL.
 * Every script touches only keys that share one hash tag `{k}`, so they work on Redis Cluster.
 * A token record is `fingerprint|payload`: scripts compare fingerprints without decoding
 * (or decrypting) the payload.
 */

/** KEYS: tok, backoff → { record or '', pttl(tok), backoff reason or '', pttl(backoff) } */
export const READ_SCRIPT = `
local v = redis.call('GET', KEYS[1])
local ttl = -2
if v then ttl = redis.call('PTTL', KEYS[1]) end
local b = redis.call('GET', KEYS[2])
local bttl = -2
if b then bttl = redis.call('PTTL', KEYS[2]) end
return { v or '', ttl, b or '', bttl }
`;

/** KEYS: lock, gen · ARGV: owner, leaseMs → the new fence, or 0 when the lease is taken. */
export const ACQUIRE_SCRIPT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
`;

/**
 * KEYS: tok, lock, gen, backoff, fail · ARGV: owner, fence, record, pttl, channel, fingerprint
 * → 1 when written, 0 when a newer lease holder exists (fenced out). Writing clears the
 * backoff and the failure count, releases our lease and announces the fingerprint (a hint only).
 */
export const PUBLISH_SCRIPT = `
local mine = redis.call('GET', KEYS[2]) == ARGV[1]
if tonumber(redis.call('GET', KEYS[3]) or '0') ~= tonumber(ARGV[2]) then
  if mine then redis.call('DEL', KEYS[2]) end
  return 0
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
redis.call('DEL', KEYS[4], KEYS[5])
if mine then redis.call('DEL', KEYS[2]) end
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
return 1
`;

/** KEYS: tok · ARGV: fingerprint → 1 deleted, -1 a different (newer) token is stored, 0 absent. */
export const INVALIDATE_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local sep = string.find(v, '|', 1, true)
if sep and string.sub(v, 1, sep - 1) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return -1
`;

/** KEYS: lock · ARGV: owner → compare-and-delete of the lease. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * KEYS: backoff, lock, fail · ARGV: reason, owner, baseMs, maxMs, jitter, atLeastMs
 * → { failures, durationMs }. Counts one more consecutive failure of the fleet (the count
 * outlives the backoff by maxMs, so the next lease holder continues the sequence), starts
 * the backoff for that count, releases our lease. The duration is `backoffDurationMs`
 * (backoff-policy.ts): min(maxMs, baseMs × 2^(failures − 1)) × jitter, at least atLeastMs.
 */
export const BACKOFF_SCRIPT = `
local failures = redis.call('INCR', KEYS[3])
local maxMs = tonumber(ARGV[4])
local ms = tonumber(ARGV[3]) * 2 ^ (failures - 1)
if ms > maxMs then ms = maxMs end
ms = ms * tonumber(ARGV[5])
if ms < tonumber(ARGV[6]) then ms = tonumber(ARGV[6]) end
ms = math.ceil(ms)
if ms < 1 then ms = 1 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ms)
redis.call('PEXPIRE', KEYS[3], ms + maxMs)
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return { failures, ms }
`;

/**
 * KEYS: tok · ARGV: record, pttl, channel, fingerprint → {} when stored, { record, pttl } of
 * the stored token when it expires at least as late as ours. Reconciliation after an outage:
 * the token that lives longest wins, whatever the order the instances come back in; a
 * stored one is announced like a published one, so instances that reconciled earlier with
 * a shorter-lived token adopt it.
 */
export const OFFER_SCRIPT = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl >= tonumber(ARGV[2]) then return { redis.call('GET', KEYS[1]), ttl } end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return {}
`;

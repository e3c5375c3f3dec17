/**
 * The Lua script of fleet quota leases. One GCRA step with exactly the arithmetic of
 * `gcraLease` (packages/steadfast/src/strategies/fleet-quota/gcra.ts), on the Redis clock,
 * so host clocks do not matter. Times are ms with fractions (an emission interval may be
 * 1.667 ms): the TAT is stored, and fractional results returned, as `%.17g` strings, because
 * Redis truncates Lua numbers in replies to integers. Both keys share one hash tag.
 */

/**
 * KEYS: tat, members · ARGV: emissionMs, burst, horizonMs, want, min, instance, memberTtlMs,
 * nowMs ('' for the Redis clock; a number only in tests of the arithmetic)
 * → { granted, firstInMs, retryInMs, fleetSize }. The TAT expires once it is in the past
 * (plus a margin: an early expiry would hand out the burst again); the members sorted set
 * scores each instance by its last lease and forgets it after memberTtlMs.
 */
export const QUOTA_LEASE_SCRIPT = `
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local min = tonumber(ARGV[5])
local memberTtl = tonumber(ARGV[7])
local now
if ARGV[8] ~= '' then
  now = tonumber(ARGV[8])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
local start = math.max(tat, now)
local slack = (burst - 1) * emission
local room = math.floor((now + horizon + slack - start) / emission) + 1
local granted = math.max(0, math.min(want, room))
local first = 0
local retry = 0
if granted < min then
  granted = 0
  retry = math.max(1, start + (min - 1) * emission - slack - (now + horizon))
else
  first = start - slack - now
  tat = start + granted * emission
  redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', math.max(1, math.ceil(tat - now) + 1000))
end
redis.call('ZADD', KEYS[2], string.format('%.17g', now), ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%.17g', now - memberTtl))
redis.call('PEXPIRE', KEYS[2], math.ceil(memberTtl) + 1000)
local size = redis.call('ZCARD', KEYS[2])
return { granted, string.format('%.17g', first), string.format('%.17g', retry), size }
`;

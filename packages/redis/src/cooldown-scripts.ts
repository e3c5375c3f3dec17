/**
 * The Lua scripts of fleet cooldowns. A pause is a key holding its source with the pause as
 * its TTL; the probe claim beside it is a plain `SET NX PX`. Both keys of a scope share one
 * hash tag; the notice channel is not a key (pub/sub reaches every node of a cluster).
 */

/**
 * KEYS: cool, probe · ARGV: source, ms, channel, notice → 1 when the pause started (the
 * probe claim is cleared and the notice published), 0 when a pause that ends at least as
 * late is already on (nothing changes, nothing is published).
 */
export const PAUSE_SCRIPT = `
if redis.call('PTTL', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

/** KEYS: cool, probe · ARGV: channel, notice → ends the pause and frees the probe, and says so. */
export const RESUME_SCRIPT = `
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`;

//! The Lua scripts the Redis store runs: each touches one key and does its read-modify-write
//! in one atomic step, so that instances acting at once never lose an update.

/// Counts a failure and keeps `last` monotonic in one atomic step, so that two
/// instances recording at once never lose a count or move `last` backwards.
/// KEYS[1] = counter hash; ARGV[1] = failure time (Unix ms); ARGV[2] = TTL (ms).
pub(super) const RECORD_FAILURE_LUA: &str = r"
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '')
local at = tonumber(ARGV[1])
if last == nil or at > last then
  redis.call('HSET', KEYS[1], 'last', ARGV[1])
  last = at
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {count, last}
";

/// Lua helpers shared by the quota scripts. Counts are compared as decimal strings,
/// not Lua numbers (doubles, inexact above 2^53), so decisions are exact up to
/// [`MAX_QUOTA`]; a counter that is not a canonical decimal count is an error.
pub(super) const QUOTA_LUA_HELPERS: &str = r"
local function at_most(a, b)
  if #a ~= #b then return #a < #b end
  return a <= b
end
local function read_count(key)
  local used = redis.call('GET', key)
  if used and (not string.match(used, '^%d+$') or (#used > 1 and string.sub(used, 1, 1) == '0')) then
    return nil, redis.error_reply('ERR quota counter is not a non-negative integer')
  end
  return used
end
";

/// Adds to a quota counter if the total stays within the limit, in one atomic step,
/// so that concurrent uploads on any instances never overshoot the quota together.
/// KEYS[1] = counter (a string holding a decimal count);
/// ARGV[1] = amount; ARGV[2] = limit - amount, or `-` when amount > limit;
/// ARGV[3] = window end (Unix ms), the expiry of a counter created here.
/// Neither a read (amount 0) nor a refusal creates a counter; an existing counter
/// without expiry (written by something else) is given this window's.
/// Returns {allowed (0 or 1), used after the call, expiry (Unix ms)}; an existing
/// counter's expiry is Redis' TIME plus its PTTL. TIME is called after the writes
/// only (Redis before 5 refuses writes after it in a script).
pub(super) const CONSUME_BODY_LUA: &str = r"
local used, err = read_count(KEYS[1])
if err then return err end
if not used then
  if ARGV[2] == '-' then return {0, 0, tonumber(ARGV[3])} end
  if ARGV[1] ~= '0' then
    redis.call('INCRBY', KEYS[1], ARGV[1])
    redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  end
  return {1, ARGV[1], tonumber(ARGV[3])}
end
local allowed = 0
if ARGV[2] ~= '-' and at_most(used, ARGV[2]) then
  allowed = 1
  if ARGV[1] ~= '0' then
    redis.call('INCRBY', KEYS[1], ARGV[1])
    used = redis.call('GET', KEYS[1])
  end
end
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  return {allowed, used, tonumber(ARGV[3])}
end
local now = redis.call('TIME')
return {allowed, used, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + pttl}
";

/// Gives back to a quota counter, floored at 0, keeping its expiry; a missing
/// counter stays missing. KEYS[1] = counter; ARGV[1] = amount. Returns 1 when a
/// counter was found, 0 otherwise.
pub(super) const REFUND_BODY_LUA: &str = r"
local used, err = read_count(KEYS[1])
if err then return err end
if not used then return 0 end
if ARGV[1] ~= '0' then
  if at_most(ARGV[1], used) then
    redis.call('DECRBY', KEYS[1], ARGV[1])
  else
    redis.call('DECRBY', KEYS[1], used)
  end
end
return 1
";

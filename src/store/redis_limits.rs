//! Rate-limit state on Redis: sliding-window logs (one sorted set per window, scored by Unix
//! second, one unique member per event) and per-number failure counters.

use std::sync::LazyLock;

use redis::Script;

/// All-or-nothing admission over the windows in KEYS (one tag, so one Cluster slot). ARGV:
/// now, member, then cap and seconds per key. Returns {0, 0} when admitted, otherwise the
/// 1-based index of the full window that frees a place last and the seconds until it does.
pub(super) static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1])
local refused, wait = 0, 0
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[1 + 2 * i])
  local secs = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - secs)
  local count = redis.call('ZCARD', key)
  if count >= cap then
    local oldest = redis.call('ZRANGE', key, count - cap, count - cap, 'WITHSCORES')
    local free_in = tonumber(oldest[2]) + secs - now
    if free_in > wait or refused == 0 then refused, wait = i, free_in end
  end
end
if refused > 0 then return {refused, wait} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('EXPIRE', key, tonumber(ARGV[2 + 2 * i]))
end
return {0, 0}
",
    )
});

/// Sets the `until` field of the failures hash in KEYS[1] to ARGV[1] unless it is later already.
pub(super) static LOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], 'until', ARGV[1]) end
return 0
",
    )
});

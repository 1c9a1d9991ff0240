//! Rate-limit state on Redis: sliding-window logs (one sorted set per window, scored by Unix
//! second, one unique member per event) and per-number failure counters (one hash per number:
//! `count` and `until` for the number, `count:<source>` and `until:<source>` per source).

use std::sync::LazyLock;

use redis::Script;

/// All-or-nothing admission over the windows in KEYS (one tag, so one Cluster slot). ARGV:
/// now, member, then cap, seconds and prefix per key (a prefix counts only the members that
/// start with it; empty counts all, and a key may come twice, whole and as a share). Returns
/// {refused, wait}: the 1-based index of the full window that frees a place last and the
/// seconds until it does; or, when admitted, {0, 0} followed by the count of each window with
/// the new member.
pub(super) static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1])
local refused, wait = 0, 0
local counts = {}
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[3 * i])
  local secs = tonumber(ARGV[3 * i + 1])
  local prefix = ARGV[3 * i + 2]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - secs)
  local count, oldest
  if prefix == '' then
    count = redis.call('ZCARD', key)
    if count >= cap then
      oldest = redis.call('ZRANGE', key, count - cap, count - cap, 'WITHSCORES')[2]
    end
  else
    local scores = {}
    local all = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
    for j = 1, #all, 2 do
      if string.sub(all[j], 1, #prefix) == prefix then scores[#scores + 1] = all[j + 1] end
    end
    count = #scores
    if count >= cap then oldest = scores[count - cap + 1] end
  end
  if oldest then
    local free_in = tonumber(oldest) + secs - now
    if free_in > wait or refused == 0 then refused, wait = i, free_in end
  end
  counts[i] = count + 1
end
if refused > 0 then return {refused, wait} end
local admitted = {0, 0}
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('EXPIRE', key, tonumber(ARGV[3 * i + 1]))
  admitted[i + 2] = counts[i]
end
return admitted
",
    )
});

/// Sets the field ARGV[2] (`until` for the whole number, `until:<source>` for one source) of
/// the failures hash in KEYS[1] to ARGV[1] unless it is later already.
pub(super) static LOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], ARGV[2], ARGV[1]) end
return 0
",
    )
});

//! Rate-limit state on Redis: windows and per-number failure counters. A log window is a sorted set
//! of members scored by Unix second, one member per event; windows of one call that share a key
//! read it once and each count its members over their own length, and it is trimmed and expires by
//! the longest. A counter window is a hash of bucket index (`at` divided by the bucket width, in
//! seconds) to events, at most 61 fields, beside its running total `n` and the first bucket it
//! still keeps `lo`: an admission reads those two and the bucket it would record in, forgets only
//! the buckets that left since the last one, and records with one write, so its cost does not grow
//! with the buckets a busy key holds (the global budget, a country's, a busy IP's). A counter key
//! comes once per call. Failures are one hash per number: `count` and `until` for the number,
//! `count:<source>` and `until:<source>` per source (`record_failure`, `redis.rs`). The arithmetic
//! is the memory store's (`memory_limits.rs`).

use std::sync::LazyLock;

use redis::Script;

use super::redis::STORE_CHALLENGE;

/// Admission of groups of windows in turn (each group one tag; every key on one server, or
/// one group per call on a Cluster), each group all or nothing, up to the first group refused.
/// ARGV: now, member, then cap, seconds, bucket width, prefix and group per key, the keys of a
/// group next to each other: a width of 0 is a log (whose prefix, when not empty, counts only
/// the members that start with it; a key may come more than once within its group), otherwise
/// a counter of buckets that wide. Returns {refused, wait, counts…}: the 1-based index among
/// KEYS of the refused group's full window that frees a place last and the seconds until it
/// does, or {0, 0} when every group was admitted; then the count of each window of the groups
/// admitted, with the new event.
pub(super) static ADMIT: LazyLock<Script> =
    LazyLock::new(|| Script::new(&[ADMIT_FUNCTION, "return admit(KEYS, ARGV, #KEYS)"].concat()));

/// [`ADMIT`] of every key but the last, then, once every group is admitted, the challenge
/// that follows the windows stored (`store_challenge`, `redis.rs`): its key last in KEYS, its
/// digest, expiry and TTL last in ARGV. Nothing is stored after a refusal.
pub(super) static ADMIT_THEN_STORE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        &[
            STORE_CHALLENGE,
            ADMIT_FUNCTION,
            r"
local windows = #KEYS - 1
local reply = admit(KEYS, ARGV, windows)
if reply[1] == 0 then
  local at = 5 * windows + 2
  store_challenge(KEYS[#KEYS], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3])
end
return reply
",
        ]
        .concat(),
    )
});

/// Defines `admit(KEYS, ARGV, windows)`: the admission ([`ADMIT`]) of the first `windows`
/// keys of KEYS, with their values in ARGV; whatever follows them is the caller's.
pub(super) const ADMIT_FUNCTION: &str = r"
local function admit(KEYS, ARGV, windows)
  local now = tonumber(ARGV[1])
  -- The `field`-th value (cap, seconds, width, prefix, group) of key `i`.
  local function arg(i, field) return ARGV[5 * i - 3 + field] end
  local keep = {}
  for i = 1, windows do
    local key = KEYS[i]
    local secs = tonumber(arg(i, 2))
    if not keep[key] or secs > keep[key] then keep[key] = secs end
  end
  -- A counter's count from bucket `first` on, the first bucket it keeps, and the events in
  -- bucket `current` (read with the total, so that recording needs one write): the buckets
  -- before `first` are forgotten and taken off the total. The buckets since the last admission
  -- are visited one by one; a key without a total, or idle for longer than its window, is
  -- counted afresh from all its fields (`n` and `lo` are no bucket numbers).
  local function counted(key, first, span, ttl, current)
    local state = redis.call('HMGET', key, 'n', 'lo', string.format('%d', current))
    local count, lo = tonumber(state[1] or '0'), tonumber(state[2])
    local events = tonumber(state[3] or '0')
    if lo and lo >= first then return count, lo, events end
    if lo and first - lo <= span then
      for bucket = lo, first - 1 do
        local field = string.format('%d', bucket)
        local events = redis.call('HGET', key, field)
        if events then
          count = count - tonumber(events)
          redis.call('HDEL', key, field)
        end
      end
    else
      count = 0
      local fields = redis.call('HGETALL', key)
      for j = 1, #fields, 2 do
        local bucket = tonumber(fields[j])
        if bucket and bucket < first then
          redis.call('HDEL', key, fields[j])
        elseif bucket then
          count = count + tonumber(fields[j + 1])
        end
      end
    end
    redis.call('HSET', key, 'n', count, 'lo', first)
    redis.call('EXPIRE', key, ttl)
    return count, first, events
  end
  -- Window `i`'s count without the new event, and the seconds until it frees a place when full.
  -- A counter's first bucket kept, its count and the events in the current bucket, once
  -- counted; a log's members, once read.
  local kept_from, counts, in_current = {}, {}, {}
  local logged = {}
  local function tally(i)
    local key = KEYS[i]
    local cap = tonumber(arg(i, 1))
    local secs = tonumber(arg(i, 2))
    local width = tonumber(arg(i, 3))
    local prefix = arg(i, 4)
    local count, free_in = 0, 0
    if width > 0 then
      local span = math.ceil(secs / width) + 1
      local lo, events
      count, lo, events =
        counted(key, math.floor((now - secs) / width), span, secs + width, math.floor(now / width))
      kept_from[key], counts[key], in_current[key] = lo, count, events
      if count >= cap then
        local left = count
        for bucket = lo, lo + span do
          left = left - tonumber(redis.call('HGET', key, string.format('%d', bucket)) or '0')
          if left < cap then
            free_in = (bucket + 1) * width + secs - now
            break
          end
        end
      end
    else
      -- A log is trimmed and read whole (its longest window) once per call; each of its
      -- windows counts the members it holds, the oldest first.
      if not logged[key] then
        redis.call('ZREMRANGEBYSCORE', key, '-inf', now - keep[key])
        logged[key] = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
      end
      local live, low, scores = logged[key], now - secs, {}
      for j = 1, #live, 2 do
        local score = tonumber(live[j + 1])
        if score > low and string.sub(live[j], 1, #prefix) == prefix then
          scores[#scores + 1] = score
        end
      end
      count = #scores
      if count >= cap then free_in = scores[count - cap + 1] + secs - now end
    end
    return count, free_in, cap
  end
  local reply = {0, 0}
  local recorded = {}
  local first = 1
  while first <= windows do
    local last = first
    while last < windows and arg(last + 1, 5) == arg(first, 5) do last = last + 1 end
    local refused, wait = 0, 0
    for i = first, last do
      local count, free_in, cap = tally(i)
      if count >= cap and (free_in > wait or refused == 0) then refused, wait = i, free_in end
      reply[i + 2] = count + 1
    end
    if refused > 0 then
      for i = first, last do reply[i + 2] = nil end
      reply[1], reply[2] = refused, wait
      return reply
    end
    for i = first, last do
      local key = KEYS[i]
      if not recorded[key] then
        recorded[key] = true
        local width = tonumber(arg(i, 3))
        if width > 0 then
          -- A node whose clock is behind records in the first bucket still kept.
          local bucket = math.max(math.floor(now / width), kept_from[key])
          local field = string.format('%d', bucket)
          local events = in_current[key]
          if bucket ~= math.floor(now / width) then
            events = tonumber(redis.call('HGET', key, field) or '0')
          end
          redis.call('HSET', key, 'n', counts[key] + 1, field, events + 1)
          -- The key outlives its newest bucket's events by setting its lifetime when a bucket
          -- begins; later events in the same bucket leave the window at the same time.
          if events == 0 then
            redis.call('EXPIRE', key, tonumber(arg(i, 2)) + width)
          end
        else
          redis.call('ZADD', key, now, ARGV[2])
          redis.call('EXPIRE', key, keep[key])
          logged[key] = nil
        end
      end
    end
    first = last + 1
  end
  return reply
end
";

/// Takes an event back out of the windows in KEYS (one tag). ARGV: the member, the second
/// it was admitted at, then the bucket width per key (0 for a log). A log forgets the
/// member; a counter counts one less in the event's bucket, and in its total, if that bucket
/// is still kept.
pub(super) static WITHDRAW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local at = tonumber(ARGV[2])
local done = {}
for i, key in ipairs(KEYS) do
  if not done[key] then
    done[key] = true
    local width = tonumber(ARGV[i + 2])
    if width > 0 then
      local field = string.format('%d', math.floor(at / width))
      local events = tonumber(redis.call('HGET', key, field) or '0')
      if events > 1 then
        redis.call('HINCRBY', key, field, -1)
      elseif events == 1 then
        redis.call('HDEL', key, field)
      end
      if events > 0 then redis.call('HINCRBY', key, 'n', -1) end
    else
      redis.call('ZREM', key, ARGV[1])
    end
  end
end
return 0
",
    )
});

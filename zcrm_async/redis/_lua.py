"""The Lua scripts behind ``RedisLimiter`` and ``RedisTokenStore``.

Redis runs each script atomically: no other command runs between a script's read and its write, so two processes
can never both take the last slot, the last credit or the last token refresh.
"""

# Every script reads the clock with TIME: one clock (the server's) for every machine. Redis 5+ replicates a
# script's effects, not the script, so a non-deterministic TIME is allowed before writes.
NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

#: Apply this process's feedback to the shared adaptive limit, then (if ARGV[1] names a holder) take a slot.
#: KEYS: holders, adaptive state, heavy holders. ARGV: holder ('' = feedback only), lease ms, maximum,
#: heavy limit (0 = not heavy), decrease, probe_after ms, successes, then (generation, in_flight) per 429.
#: Returns {admitted, limit, generation, in flight}.
ACQUIRE = NOW_MS + """
local maximum = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[2], 'limit', 'ceiling', 'generation', 'successes', 'throttled_at')
local limit = math.min(maximum, tonumber(s[1]) or maximum)
local ceiling = math.min(maximum, tonumber(s[2]) or maximum)
local generation = tonumber(s[3]) or 0
local successes = (tonumber(s[4]) or 0) + tonumber(ARGV[7])
local throttled_at = tonumber(s[5]) or 0
-- additive increase: one more slot per round of `limit` successes, past the last bad level only after a while
while successes >= limit do
  successes = successes - limit
  if limit >= ceiling and now - throttled_at >= tonumber(ARGV[6]) then
    ceiling = math.min(maximum, ceiling + 1)
  end
  limit = math.min(ceiling, limit + 1)
end
-- multiplicative decrease, once per generation: the 429s of one overshoot shrink the limit once
for i = 8, #ARGV, 2 do
  throttled_at = now
  -- only the call that filled the window shows the level to be too high (as in _limits.AdaptiveConcurrency)
  if tonumber(ARGV[i + 1]) >= limit then
    ceiling = math.max(1, math.min(ceiling, tonumber(ARGV[i + 1]) - 1))
  end
  if tonumber(ARGV[i]) == generation then
    generation = generation + 1
    successes = 0
    limit = math.max(1, math.min(ceiling, math.floor(limit * tonumber(ARGV[5]))))
  end
end
redis.call('HSET', KEYS[2], 'limit', limit, 'ceiling', ceiling, 'generation', generation,
           'successes', successes, 'throttled_at', throttled_at)
redis.call('PEXPIRE', KEYS[2], 172800000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])
if ARGV[1] == '' or count >= limit then
  return {0, limit, generation, count}
end
local heavy_limit = tonumber(ARGV[4])
local expiry = now + tonumber(ARGV[2])
if heavy_limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= heavy_limit then
    return {0, limit, generation, count}
  end
  redis.call('ZADD', KEYS[3], expiry, ARGV[1])
end
redis.call('ZADD', KEYS[1], expiry, ARGV[1])
return {1, limit, generation, count + 1}
"""

#: KEYS: holders, heavy holders, wake list. ARGV: holder, wake list length.
RELEASE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[3], 1)
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[3], 60000)
return removed
"""

#: Push back the expiry of this process's live holders. Only holders still in the set: a renewal racing a
#: release must not bring the released holder back. KEYS: holders, heavy holders. ARGV: lease ms, then
#: (holder, heavy '1'/'0') pairs. Returns the holders whose lease had already lapsed.
RENEW = NOW_MS + """
local expiry = now + tonumber(ARGV[1])
local lapsed = {}
for i = 2, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], expiry, ARGV[i])
    if ARGV[i + 1] == '1' then
      redis.call('ZADD', KEYS[2], 'XX', expiry, ARGV[i])
    end
  else
    table.insert(lapsed, ARGV[i])
  end
end
return lapsed
"""

#: Credits over a rolling 24 h: a hash of per-minute buckets plus 'total' and 'oldest' (the first minute still
#: counted), so each call costs O(1) amortised instead of summing 1,440 buckets. A minute's credits count until
#: the whole minute is 24 h old: never freed early. KEYS: the hash. ARGV: amount (0 = none), daily credits,
#: credits remaining per Zoho ('' = unknown). Returns {admitted, ms to wait, total} (numbers as strings).
CREDITS = NOW_MS + """
local key = KEYS[1]
local daily = tonumber(ARGV[2])
local minute = math.floor(now / 60000)
local cutoff = minute - 1440
local total = tonumber(redis.call('HGET', key, 'total')) or 0
local oldest = tonumber(redis.call('HGET', key, 'oldest')) or minute
if cutoff - oldest > 1441 then
  redis.call('DEL', key)
  total, oldest = 0, cutoff
end
while oldest < cutoff do
  local v = tonumber(redis.call('HGET', key, oldest))
  if v then
    total = total - v
    redis.call('HDEL', key, oldest)
  end
  oldest = oldest + 1
end
if ARGV[3] ~= '' then
  local diff = math.max(0, daily - tonumber(ARGV[3])) - total
  if diff > 0 then
    -- Zoho counted more (other apps, other clients): book it now, so it is freed last
    redis.call('HINCRBYFLOAT', key, minute, diff)
    total = total + diff
  else
    -- we counted more: forget the oldest first, so a wrong guess errs towards too few credits, never too many
    local excess = -diff
    while excess > 1e-9 and oldest <= minute do
      local v = tonumber(redis.call('HGET', key, oldest)) or 0
      if v > excess then
        redis.call('HSET', key, oldest, v - excess)
        total, excess = total - excess, 0
      else
        redis.call('HDEL', key, oldest)
        total, excess = total - v, excess - v
        if oldest == minute then break end
        oldest = oldest + 1
      end
    end
  end
  total = math.max(0, total)
end
local amount = tonumber(ARGV[1])
local admitted, wait = 0, 0
if amount > 0 then
  if total + amount <= daily + 1e-9 then
    redis.call('HINCRBYFLOAT', key, minute, amount)
    total = total + amount
    admitted = 1
  else
    -- wait until enough of the oldest minutes have left the window
    local need, m = total + amount - daily, oldest
    while need > 1e-9 and m <= minute do
      need = need - (tonumber(redis.call('HGET', key, m)) or 0)
      m = m + 1
    end
    wait = (m - 1 + 1441) * 60000 - now
  end
end
redis.call('HSET', key, 'total', total, 'oldest', oldest)
redis.call('PEXPIRE', key, 90000000)
return {admitted, tostring(wait), tostring(total)}
"""

#: Zoho's 10 refreshes per refresh token per 10 minutes, shared: a sorted set of refresh times.
#: KEYS: the set. ARGV: window ms, allowed, member. Returns ms to wait (0: reserved).
RESERVE_REFRESH = NOW_MS + """
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""

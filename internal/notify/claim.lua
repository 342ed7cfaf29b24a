-- Claim up to ARGV[3] due deliveries: move each one's due time to the
-- lease end, so no other worker takes it while it is being attempted, and
-- count the attempt. Returns id, attempt, body, type, created per claim.
-- KEYS[1] due ZSET, KEYS[2] event hash key prefix (same hash tag)
-- ARGV[1] now (unix ms), ARGV[2] lease end (unix ms), ARGV[3] limit
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local ev = KEYS[2] .. id
  local v = redis.call('HMGET', ev, 'body', 'type', 'created')
  if v[1] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
    local attempt = redis.call('HINCRBY', ev, 'attempt', 1)
    table.insert(out, id)
    table.insert(out, attempt)
    table.insert(out, v[1])
    table.insert(out, v[2])
    table.insert(out, v[3])
  else
    -- A due entry without its event (purged): drop it.
    redis.call('ZREM', KEYS[1], id)
  end
end
return out

-- Enqueue one delivery unless it is already pending or was delivered.
-- KEYS[1] due ZSET, KEYS[2] event HASH, KEYS[3] delivered marker
-- ARGV[1] event id, ARGV[2] body, ARGV[3] event type, ARGV[4] now (unix ms)
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
redis.call('HSET', KEYS[2], 'body', ARGV[2], 'type', ARGV[3], 'created', ARGV[4], 'attempt', 0)
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
return 1

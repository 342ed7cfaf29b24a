-- Copyright 2026 The subscription-operator Authors. Licensed under the Apache License, Version 2.0.
--
-- convert_legacy turns the seed's value at key, a STRING holding a JSON array
-- [{"date":"2025-01-19","value":42}, ...], into the hash layout (field
-- YYYYMMDD, integer value), keeping the key's TTL. Points dated before oldest
-- (a YYYYMMDD string; nil keeps all) are dropped. It returns nil on success or
-- a message; on a message the key is left as it was.
local function convert_legacy(key, oldest)
  local raw = redis.pcall('GET', key)
  if type(raw) == 'table' and raw.err then
    return key .. ' holds a ' .. redis.call('TYPE', key).ok .. ', want a hash (or the legacy JSON string)'
  end
  if raw == false then
    return nil -- gone meanwhile
  end
  local ok, points = pcall(cjson.decode, raw)
  local entries = 0
  if ok and type(points) == 'table' then
    for _ in pairs(points) do entries = entries + 1 end
  end
  if not ok or type(points) ~= 'table' or entries ~= #points then
    return key .. ': legacy value is not a JSON array of {"date","value"}; fix or delete the key'
  end
  local fv = {}
  for i, p in ipairs(points) do
    local y, m, d, v
    if type(p) == 'table' and type(p.date) == 'string' then
      y, m, d = string.match(p.date, '^(%d%d%d%d)-(%d%d)-(%d%d)')
      v = tonumber(p.value)
    end
    if not y or not v then
      return key .. ': legacy point ' .. i .. ' is not {"date":"YYYY-MM-DD","value":<integer>}; fix or delete the key'
    end
    local f = y .. m .. d
    if not oldest or f >= oldest then
      fv[#fv + 1] = f
      fv[#fv + 1] = string.format('%d', v)
    end
  end
  local pttl = redis.call('PTTL', key)
  redis.call('DEL', key)
  for i = 1, #fv, 200 do
    redis.call('HSET', key, unpack(fv, i, math.min(i + 199, #fv)))
  end
  if pttl > 0 and #fv > 0 then
    redis.call('PEXPIRE', key, pttl)
  end
  return nil
end


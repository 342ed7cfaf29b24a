-- Write one date for the keys of one tenant (they share a slot).
-- KEYS: usage_history:{tenant}:metric
-- ARGV[1]: date field (YYYYMMDD); ARGV[2]: oldest date kept (YYYYMMDD);
-- ARGV[3]: TTL in seconds; ARGV[3+i]: value for KEYS[i].
-- Returns the number of keys written, or an error naming the failed keys
-- (the other keys are still written).
--
-- Trimming is exact and cheap: the field "oldest" holds the window start of
-- the previous write, before which no field exists. Only the dates from it up
-- to the new window start are deleted (one date a day); a key without it, or
-- a gap longer than MAX_SPAN days, is swept with HKEYS instead.
local field, oldest, ttl = ARGV[1], ARGV[2], ARGV[3]
local MARK, MAX_SPAN = 'oldest', 62
local mdays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

local function is_date(f)
  return type(f) == 'string' and #f == 8 and not string.find(f, '%D')
end

local function next_day(f)
  local y, m, d = tonumber(string.sub(f, 1, 4)), tonumber(string.sub(f, 5, 6)), tonumber(string.sub(f, 7, 8))
  local last = mdays[m] or 31
  if m == 2 and y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) then
    last = 29
  end
  if d < last then
    return string.format('%04d%02d%02d', y, m, d + 1)
  elseif m < 12 then
    return string.format('%04d%02d01', y, m + 1)
  end
  return string.format('%04d0101', y + 1)
end

local function hdel(key, fields)
  for j = 1, #fields, 200 do
    redis.call('HDEL', key, unpack(fields, j, math.min(j + 199, #fields)))
  end
end

-- trim deletes the fields dated before oldest, given the previous mark.
local function trim(key, mark)
  if is_date(mark) then
    if mark >= oldest then
      return
    end
    local dates, d = {}, mark
    while d < oldest and #dates <= MAX_SPAN do
      dates[#dates + 1] = d
      d = next_day(d)
    end
    if d >= oldest then
      hdel(key, dates)
      return
    end
  end
  local stale = {}
  for _, f in ipairs(redis.call('HKEYS', key)) do
    if is_date(f) and f < oldest then
      stale[#stale + 1] = f
    end
  end
  hdel(key, stale)
end

local failed = {}
for i, key in ipairs(KEYS) do
  local mark = redis.pcall('HGET', key, MARK)
  local msg = nil
  if type(mark) == 'table' and mark.err then
    -- Only a legacy (or foreign) value gets here: HGET answered WRONGTYPE.
    -- The conversion drops the points before oldest: nothing left to trim.
    msg = convert_legacy(key, oldest)
    mark = oldest
  end
  if msg then
    failed[#failed + 1] = msg
  else
    redis.call('HSET', key, field, ARGV[3 + i], MARK, oldest)
    trim(key, mark)
    redis.call('EXPIRE', key, ttl)
  end
end
if #failed > 0 then
  return redis.error_reply('HISTORY ' .. table.concat(failed, '; '))
end
return #KEYS

-- Convert one legacy key in place, keeping all its points (used by reads).
-- KEYS[1]: usage_history:{tenant}:metric
local msg = convert_legacy(KEYS[1], nil)
if msg then
  return redis.error_reply('HISTORY ' .. msg)
end
return 1

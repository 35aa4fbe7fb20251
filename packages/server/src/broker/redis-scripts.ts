/**
 * @module redis-scripts
 * The Lua scripts of the Redis broker, each one round trip (EVALSHA).
 *
 * Keys of a channel `c` under the prefix `p`: `p{c}:m` (hash: `e` epoch, `o` last offset, `t` last ts, `b` bytes
 * held) and `p{c}:s` (the history stream, entry ids `<offset>-0`, fields `t` ts, `k` kind as JSON, `d` data as JSON,
 * `n` the event's bytes as history-policy.ts estimates them). `p:channels` is a sorted set of channel names scored by
 * their last publish time, used to list channels, count them and find those created while a node was cut off from
 * Redis; `p:sizes` scores them by bytes held, and the hash `p:totals` holds the bytes of all of them. Live events go
 * out on the pub/sub channel `p:ev:<c>`.
 */

/**
 * publish: KEYS meta, stream, channels, sizes (sorted set: channel -> bytes held), totals (hash: `b` bytes held by
 * all channels, `h` their overhead); ARGV channel, channel as JSON, kind as JSON, data as JSON, ts, max events, max
 * age ms, epoch to use if the channel has none, pub/sub channel, now (ms), channel ttl ms, the event's bytes, max
 * bytes per channel, max channels, max total bytes, channel overhead bytes, low-water fraction (limits: -1 = none).
 *
 * Refuses a new channel past max channels ({'channel_limit', n}). Otherwise raises the offset, appends to the
 * stream, drops entries from its head while it holds more than max events, more than max bytes, or entries older
 * than max age (an event over max bytes is published but not kept), cuts the largest channels back when all of
 * them hold more than max total bytes (the same water level as the memory engine), records the channel and
 * publishes the event. Returns {epoch, offset}.
 */
export const PUBLISH = `
local maxChannels = tonumber(ARGV[14])
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  if maxChannels >= 0 and not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
    local n = redis.call('ZCARD', KEYS[3])
    if n >= maxChannels then return {'channel_limit', n} end
  end
  epoch = ARGV[8]
  redis.call('HSET', KEYS[1], 'e', epoch)
end
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  redis.call('HINCRBY', KEYS[5], 'h', tonumber(ARGV[16]))
end
local offset = redis.call('HINCRBY', KEYS[1], 'o', 1)
redis.call('HSET', KEYS[1], 't', ARGV[5])
local function popHead(meta, stream, channel)
  local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
  if #head == 0 then return false end
  local n = tonumber(head[1][2][8])
  redis.call('XDEL', stream, head[1][1])
  local left = redis.call('HINCRBY', meta, 'b', -n)
  redis.call('HINCRBY', KEYS[5], 'b', -n)
  redis.call('ZADD', KEYS[4], left, channel)
  return head
end
local maxEvents = tonumber(ARGV[6])
local maxBytes = tonumber(ARGV[13])
local bytes = tonumber(ARGV[12])
redis.call('XADD', KEYS[2], offset .. '-0', 't', ARGV[5], 'k', ARGV[3], 'd', ARGV[4], 'n', bytes)
local held = redis.call('HINCRBY', KEYS[1], 'b', bytes)
redis.call('HINCRBY', KEYS[5], 'b', bytes)
local cutoff = tonumber(ARGV[10]) - tonumber(ARGV[7])
while true do
  local len = redis.call('XLEN', KEYS[2])
  if len == 0 then break end
  local over = len > maxEvents or (maxBytes >= 0 and held > maxBytes)
  if not over then
    local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
    over = tonumber(head[1][2][2]) < cutoff
  end
  if not over then break end
  popHead(KEYS[1], KEYS[2], ARGV[1])
  held = tonumber(redis.call('HGET', KEYS[1], 'b'))
end
redis.call('ZADD', KEYS[4], held, ARGV[1])
local maxTotal = tonumber(ARGV[15])
if maxTotal >= 0 then
  local total = tonumber(redis.call('HGET', KEYS[5], 'b') or '0')
  local overhead = tonumber(redis.call('HGET', KEYS[5], 'h') or '0')
  if total + overhead > maxTotal then
    local target = math.max(0, maxTotal * tonumber(ARGV[17]) - overhead)
    local sizes = redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES')
    local count = #sizes / 2
    local below = 0
    local level = math.floor(target / math.max(1, count))
    for i = 1, count do
      local size = tonumber(sizes[2 * i])
      local l = (target - below) / (count - i + 1)
      if l <= size then level = math.max(0, math.floor(l)); break end
      below = below + size
    end
    for i = count, 1, -1 do
      local channel = sizes[2 * i - 1]
      if tonumber(sizes[2 * i]) <= level then break end
      local meta = ARGV[18] .. '{' .. channel .. '}:m'
      local stream = ARGV[18] .. '{' .. channel .. '}:s'
      while tonumber(redis.call('HGET', meta, 'b') or '0') > level do
        if not popHead(meta, stream, channel) then break end
      end
    end
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[11])
redis.call('PEXPIRE', KEYS[2], ARGV[11])
redis.call('ZADD', KEYS[3], ARGV[10], ARGV[1])
redis.call('PUBLISH', ARGV[9], '{"channel":' .. ARGV[2] .. ',"epoch":"' .. epoch .. '","offset":' .. offset ..
  ',"ts":' .. ARGV[5] .. ',"kind":' .. ARGV[3] .. ',"data":' .. ARGV[4] .. '}')
return {epoch, offset}
`;

/** position: KEYS meta; ARGV epoch to use if none, meta ttl ms. Returns {epoch, offset} (offset 0 when empty). */
export const POSITION = `
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'e', epoch)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local offset = redis.call('HGET', KEYS[1], 'o')
return {epoch, tonumber(offset or '0')}
`;

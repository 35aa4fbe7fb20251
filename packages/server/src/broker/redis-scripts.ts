/**
 * @module redis-scripts
 * The Lua scripts of the Redis broker, each one round trip (EVALSHA).
 *
 * Keys of a channel `c` under the prefix `p`: `p{c}:m` (hash: `e` epoch, `o` last offset, `t` last ts, `b` bytes
 * held, `x` when the expiry of both keys was last renewed, `z` when the channel's score in `p:channels` was) and
 * `p{c}:s` (the history stream, entry ids `<offset>-0`, fields `t` ts, `k` kind as JSON, `d` data as JSON, `n` the
 * event's bytes as history-policy.ts estimates them). `p:channels` is a sorted set of channel names scored by their
 * last publish time (raised at most once a second), used to list channels, count them and find those created while
 * a node was cut off from Redis; `p:sizes` scores them by bytes held, and the hash `p:totals` holds the bytes of all
 * of them. Live events go out on the pub/sub channel `p:ev:<c>`.
 */

/**
 * publish: KEYS meta, stream, channels, sizes (sorted set: channel -> bytes held), totals (hash: `b` bytes held by
 * all channels, `h` their overhead); ARGV channel, channel as JSON, epoch to use if the channel has none, pub/sub
 * channel, now (ms), channel ttl ms, max events, max age ms, max bytes per channel, max channels, max total bytes,
 * channel overhead bytes, low-water fraction, key prefix (limits: -1 = none), then four per event, in publish order:
 * kind as JSON, data as JSON, ts, the event's bytes.
 *
 * Refuses a new channel past max channels ({'channel_limit', n}). Otherwise gives the events the next offsets,
 * appends them to the stream and drops entries from its head while it holds more than max events, more than max
 * bytes, or entries older than max age (an event over max bytes is published but not kept; the same entries go as
 * if the events were published one by one), cuts the largest channels back when all of them hold more than max
 * total bytes (the same water level as the memory engine), records the channel and publishes the events as one
 * message, `{"c":channel,"e":epoch,"o":first offset,"v":[[ts,kind,data],...]}`. Returns {epoch, first offset}.
 *
 * It costs a fixed handful of commands per call, plus one XADD per event: the meta hash is read once and written
 * once (`o` offset, `t` last ts, `b` bytes held; `x` when the keys' expiry was last renewed, `z` when the channel's
 * score in `p:channels` was), the head entries to drop are read in one XRANGE and trimmed by the first XADD (MINID),
 * and the sizes and totals are written only when the bytes held change. The expiry is renewed at most every
 * `min(ttl / 64, 60 s)`, to ttl plus that interval, so the keys still outlive the last event by at least the ttl;
 * the channel's score in `p:channels` (its last publish time) is raised at most once a second.
 */
export const PUBLISH = `
local now = tonumber(ARGV[5])
local n = (#ARGV - 14) / 4
local m = redis.call('HMGET', KEYS[1], 'e', 'o', 'b', 'x', 'z')
local epoch = m[1]
local fresh = not epoch
if fresh then
  local maxChannels = tonumber(ARGV[10])
  if maxChannels >= 0 and not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
    local count = redis.call('ZCARD', KEYS[3])
    if count >= maxChannels then return {'channel_limit', count} end
  end
  epoch = ARGV[3]
  -- A stream left from a lost epoch: its entries are gone with it, and so are its bytes from the totals.
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DEL', KEYS[2]) end
  local stale = tonumber(redis.call('ZSCORE', KEYS[4], ARGV[1]) or '0')
  if stale > 0 then redis.call('HINCRBY', KEYS[5], 'b', -stale) end
  m[3] = '0'
end
local first = (tonumber(m[2]) or 0) + 1
local before = tonumber(m[3]) or 0
local maxEvents = tonumber(ARGV[7])
local maxBytes = tonumber(ARGV[9])
local cutoff = now - tonumber(ARGV[8])
local function over(count, held, ts)
  return count > maxEvents or (maxBytes >= 0 and held > maxBytes) or ts < cutoff
end
local held = before
for i = 0, n - 1 do held = held + tonumber(ARGV[18 + 4 * i]) end
-- Which entries go from the head, the new ones counted: while too many, too large in total, or too old.
local len = redis.call('XLEN', KEYS[2])
local count = len + n
local kept = false
local dropped = 0
if len > 0 then
  local from = '-'
  local batch = math.max(0, count - maxEvents) + 1
  while not kept do
    local head = redis.call('XRANGE', KEYS[2], from, '+', 'COUNT', batch)
    for i = 1, #head do
      local f = head[i][2]
      if not over(count, held, tonumber(f[2])) then
        kept = head[i][1]
        break
      end
      count = count - 1
      held = held - tonumber(f[8])
      dropped = dropped + 1
    end
    if kept or #head < batch then break end
    from = '(' .. head[#head][1]
    batch = 64
  end
end
local skip = 0
if not kept then
  while skip < n and over(count, held, tonumber(ARGV[17 + 4 * skip])) do
    count = count - 1
    held = held - tonumber(ARGV[18 + 4 * skip])
    skip = skip + 1
  end
end
if skip == n then
  if len > 0 then redis.call('XTRIM', KEYS[2], 'MAXLEN', 0) end
else
  for i = skip, n - 1 do
    local a = 15 + 4 * i
    local id = (first + i) .. '-0'
    if i == skip and dropped > 0 then
      redis.call('XADD', KEYS[2], 'MINID', kept or id, id, 't', ARGV[a + 2], 'k', ARGV[a], 'd', ARGV[a + 1], 'n', ARGV[a + 3])
    else
      redis.call('XADD', KEYS[2], id, 't', ARGV[a + 2], 'k', ARGV[a], 'd', ARGV[a + 1], 'n', ARGV[a + 3])
    end
  end
end
local fields = {'o', first + n - 1, 't', ARGV[13 + 4 * n]}
if fresh then
  fields[#fields + 1] = 'e'
  fields[#fields + 1] = epoch
end
if held ~= before or fresh then
  fields[#fields + 1] = 'b'
  fields[#fields + 1] = held
  redis.call('ZADD', KEYS[4], held, ARGV[1])
  if held ~= before then redis.call('HINCRBY', KEYS[5], 'b', held - before) end
end
local ttl = tonumber(ARGV[6])
local renew = math.max(1, math.min(math.floor(ttl / 64), 60000))
local x = tonumber(m[4])
local expire = fresh or not x or now - x >= renew or now < x
if expire then
  fields[#fields + 1] = 'x'
  fields[#fields + 1] = now
end
local z = tonumber(m[5])
if fresh or not z or now - z >= 1000 or now < z then
  if redis.call('ZADD', KEYS[3], now, ARGV[1]) == 1 then
    redis.call('HINCRBY', KEYS[5], 'h', tonumber(ARGV[12]))
  end
  fields[#fields + 1] = 'z'
  fields[#fields + 1] = now
end
redis.call('HSET', KEYS[1], unpack(fields))
if expire then
  redis.call('PEXPIRE', KEYS[1], ttl + renew)
  redis.call('PEXPIRE', KEYS[2], ttl + renew)
end
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
local maxTotal = tonumber(ARGV[11])
if maxTotal >= 0 then
  local totals = redis.call('HMGET', KEYS[5], 'b', 'h')
  local total = tonumber(totals[1] or '0')
  local overhead = tonumber(totals[2] or '0')
  if total + overhead > maxTotal then
    local target = math.max(0, maxTotal * tonumber(ARGV[13]) - overhead)
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
      local meta = ARGV[14] .. '{' .. channel .. '}:m'
      local stream = ARGV[14] .. '{' .. channel .. '}:s'
      while tonumber(redis.call('HGET', meta, 'b') or '0') > level do
        if not popHead(meta, stream, channel) then break end
      end
    end
  end
end
local events = {}
for i = 0, n - 1 do
  local a = 15 + 4 * i
  events[i + 1] = '[' .. ARGV[a + 2] .. ',' .. ARGV[a] .. ',' .. ARGV[a + 1] .. ']'
end
redis.call('PUBLISH', ARGV[4], '{"c":' .. ARGV[2] .. ',"e":"' .. epoch .. '","o":' .. first .. ',"v":[' ..
  table.concat(events, ',') .. ']}')
return {epoch, first}
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

import { SETTLED_TOMBSTONE_MS } from './types';

/**
 * Lua scripts of the Redis store; each runs atomically, costs O(items + rolling sub-buckets read + expired reservations).
 *
 * Layout (T = the hash tag, e.g. `{llm:}`):
 *   T c:<key>  counter (string integer, PX = window, set on creation only); includes outstanding reservations
 *   T z:<key>  ZSET of reservations on that counter: member `<amount>:<id>`, score = expiry (server ms);
 *              same expiry as its counter
 *   T r:<id>   reservation hash: `#exp` (server ms), `#settled`, and `k:<key>` = amount per item; PX = its ttl;
 *              once settled, `#exp` and `#settled` only, for at most SETTLED_TOMBSTONE_MS
 * Expired reservations are purged lazily: whenever a script touches a counter it first subtracts the members of
 * its ZSET whose score is due, so no scan is ever needed. Time is the Redis server's (TIME), so clients' clocks
 * do not matter.
 */

const COMMON = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Lua 5.1 would print large numbers as 1e+15; Redis wants integer strings. Totals are returned as strings too:
-- ioredis 6 decodes integer replies within ~60 of 2^53 inexactly (its digit loop overflows before subtracting).
local function int(n) return string.format('%d', n) end
local function sub_floor(c, amount)
  if amount <= 0 or redis.call('EXISTS', c) == 0 then return end
  if redis.call('DECRBY', c, int(amount)) < 0 then redis.call('SET', c, '0', 'KEEPTTL') end
end
local function purge(c, z, now)
  local due = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #due == 0 then return end
  local sum = 0
  for _, member in ipairs(due) do sum = sum + tonumber(string.match(member, '^(%d+):')) end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  sub_floor(c, sum)
end
-- creates the counter with its window ttl; a fresh window starts with no reservations
local function ensure_counter(c, z, window_ms)
  if redis.call('SET', c, '0', 'PX', window_ms, 'NX') then redis.call('DEL', z) end
end
`;

/** KEYS: c, z. ARGV: amount, ttlMs. Returns the new total (as a string). */
export const INCR_BY = `${COMMON}
local now = now_ms()
purge(KEYS[1], KEYS[2], now)
ensure_counter(KEYS[1], KEYS[2], ARGV[2])
return int(redis.call('INCRBY', KEYS[1], ARGV[1]))
`;

/** KEYS: c1, z1, c2, z2, ... ARGV: none. Returns the totals (as strings). */
export const TOTALS = `${COMMON}
local now = now_ms()
local totals = {}
for i = 1, #KEYS, 2 do
  purge(KEYS[i], KEYS[i + 1], now)
  totals[#totals + 1] = redis.call('GET', KEYS[i]) or '0'
end
return totals
`;

/**
 * KEYS: r, then per item: c, z, and the c, z of each earlier sub-bucket of a rolling item.
 * ARGV: id, ttlMs, then per item: key, amount, limit, windowMs, number of earlier sub-buckets.
 * A rolling item's limit is checked against the sum of its sub-buckets (earlier ones are read, never written).
 * Returns {1, -1, totals...} when reserved, {0, rejectedIndex, totals...} when not (totals as strings).
 */
export const RESERVE = `${COMMON}
local r, id, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
if redis.call('EXISTS', r) == 1 then return redis.error_reply('reservation id already in use') end
local now = now_ms()
local items, k = {}, 2
for a = 3, #ARGV, 5 do
  local item = {c = KEYS[k], z = KEYS[k + 1], key = ARGV[a], amount = ARGV[a + 1], limit = tonumber(ARGV[a + 2]), window = ARGV[a + 3], earlier = 0}
  k = k + 2
  for _ = 1, tonumber(ARGV[a + 4]) do
    purge(KEYS[k], KEYS[k + 1], now)
    item.earlier = item.earlier + tonumber(redis.call('GET', KEYS[k]) or '0')
    k = k + 2
  end
  items[#items + 1] = item
end
local totals, rejected = {}, -1
for i, item in ipairs(items) do
  purge(item.c, item.z, now)
  local total = tonumber(redis.call('GET', item.c) or '0') + item.earlier
  totals[i] = int(total)
  local amount = tonumber(item.amount)
  if rejected < 0 and amount > 0 and total + amount > item.limit then rejected = i - 1 end
end
if rejected >= 0 then return {0, rejected, unpack(totals)} end
local exp = now + ttl
local fields = {'#exp', int(exp)}
for i, item in ipairs(items) do
  ensure_counter(item.c, item.z, item.window)
  totals[i] = int(redis.call('INCRBY', item.c, item.amount) + item.earlier)
  if tonumber(item.amount) > 0 then
    redis.call('ZADD', item.z, exp, item.amount .. ':' .. id)
    local pttl = redis.call('PTTL', item.c)
    if pttl > 0 then redis.call('PEXPIRE', item.z, pttl) end
  end
  fields[#fields + 1] = 'k:' .. item.key
  fields[#fields + 1] = item.amount
end
redis.call('HSET', r, unpack(fields))
redis.call('PEXPIRE', r, ttl)
return {1, -1, unpack(totals)}
`;

/**
 * KEYS: r.  ARGV: hash tag, id, then pairs key, actual.  Returns 1 if settled (now or before), 0 if unknown/expired.
 * The counter and ZSET keys are read from the reservation, so they are not declared in KEYS; they carry the same
 * hash tag as r, hence live in the same Cluster slot and on the same node.
 */
export const SETTLE = `${COMMON}
local r, tag, id = KEYS[1], ARGV[1], ARGV[2]
local now = now_ms()
local fields = redis.call('HGETALL', r)
if #fields == 0 then return 0 end
local exp, expText, settled, reserved = 0, '0', false, {}
for i = 1, #fields, 2 do
  local f, v = fields[i], fields[i + 1]
  if f == '#exp' then exp, expText = tonumber(v), v
  elseif f == '#settled' then settled = true
  else reserved[#reserved + 1] = {string.sub(f, 3), tonumber(v)} end
end
if exp <= now then return 0 end
if settled then return 1 end
local actual = {}
for i = 3, #ARGV, 2 do actual[ARGV[i]] = tonumber(ARGV[i + 1]) end
for _, item in ipairs(reserved) do
  local key, amount = item[1], item[2]
  local c, z = tag .. 'c:' .. key, tag .. 'z:' .. key
  purge(c, z, now)
  redis.call('ZREM', z, int(amount) .. ':' .. id)
  if redis.call('EXISTS', c) == 1 then
    local delta = (actual[key] or 0) - amount
    if delta > 0 then redis.call('INCRBY', c, int(delta)) else sub_floor(c, -delta) end
  end
end
-- a tombstone (no items) for a short while only: a second settle is recognised, and settled reservations do not
-- fill Redis for the whole ttl
redis.call('DEL', r)
redis.call('HSET', r, '#exp', expText, '#settled', '1')
redis.call('PEXPIRE', r, math.max(1, math.min(exp - now, ${SETTLED_TOMBSTONE_MS})))
return 1
`;

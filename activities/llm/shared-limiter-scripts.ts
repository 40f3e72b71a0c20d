// The Lua scripts of the shared limiter. Each runs atomically in Redis/Valkey and reads the server's clock
// (TIME), so replicas' clocks never matter. Keys of one model (all in one hash slot: `{…}` tag):
//   req, tok  hash {level, ts}: the request and token buckets (refilled continuously, as in limiter.ts)
//   sem       sorted set leaseId -> expiry ms: concurrency leases; an expired lease (a dead holder) is dropped
//   ctl       hash {pausedUntil, pace, lastSlowdown, seenRpm, seenTpm}: the 429 pause, the adaptive pace and
//             limits learned from response headers, shared by every replica
// Keys expire after an idle hour so retired models leave nothing behind.

/** Common prelude: the clock, the effective limits and the bucket refill. */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ctl = redis.call('HMGET', KEYS[4], 'pausedUntil', 'pace', 'lastSlowdown', 'seenRpm', 'seenTpm')
local pausedUntil = tonumber(ctl[1]) or 0
local pace = tonumber(ctl[2]) or 1
local lastSlowdown = tonumber(ctl[3]) or 0
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
if ctl[4] and tonumber(ctl[4]) < rpm then rpm = tonumber(ctl[4]) end
if ctl[5] and tonumber(ctl[5]) < tpm then tpm = tonumber(ctl[5]) end
local maxConc = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local h = tonumber(ARGV[5])
local function bucket(key, perMinute)
  local cap = math.max(1, perMinute / 60 * burst * h)
  local rate = perMinute * h * pace / 60000
  local b = redis.call('HMGET', key, 'level', 'ts')
  local level = tonumber(b[1]) or cap
  local ts = tonumber(b[2]) or now
  level = math.min(cap, level + math.max(0, now - ts) * rate)
  return level, cap, rate
end
local function save(key, level)
  redis.call('HSET', key, 'level', tostring(level), 'ts', tostring(now))
  redis.call('PEXPIRE', key, 3600000)
end
`;

/**
 * acquire(KEYS req tok sem ctl; ARGV rpm tpm maxConc burst headroom tokens leaseId leaseMs)
 * -> {1, now} granted (now: the Redis time the request was let go), or {0, waitMs} (-1: no free lease).
 */
export const ACQUIRE = `${PRELUDE}
local tokens = tonumber(ARGV[6])
if pausedUntil > now then return {0, pausedUntil - now} end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= maxConc then return {0, -1} end
local rl, rc, rr = bucket(KEYS[1], rpm)
local tl, tc, tr = bucket(KEYS[2], tpm)
local wait = 0
if rl < math.min(1, rc) then wait = (math.min(1, rc) - rl) / rr end
local need = math.min(tokens, tc)
if tl < need then wait = math.max(wait, (need - tl) / tr) end
if wait > 0 then return {0, math.ceil(wait)} end
save(KEYS[1], rl - 1)
save(KEYS[2], tl - tokens)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[8]), ARGV[7])
redis.call('PEXPIRE', KEYS[3], 3600000)
return {1, now}
`;

/**
 * release(KEYS req tok sem ctl; ARGV rpm tpm maxConc burst headroom leaseId extraTokens)
 * Frees the lease, charges tokens used beyond the reservation, raises the pace a little.
 */
export const RELEASE = `${PRELUDE}
redis.call('ZREM', KEYS[3], ARGV[6])
local extra = tonumber(ARGV[7])
if extra > 0 then
  local tl = bucket(KEYS[2], tpm)
  save(KEYS[2], tl - extra)
end
if pace < 1 then
  save(KEYS[1], (bucket(KEYS[1], rpm)))
  save(KEYS[2], (bucket(KEYS[2], tpm)))
  redis.call('HSET', KEYS[4], 'pace', tostring(math.min(1, pace + 0.02)))
  redis.call('PEXPIRE', KEYS[4], 3600000)
end
return 1
`;

/**
 * rateLimited(KEYS req tok sem ctl; ARGV rpm tpm maxConc burst headroom retryAfterMs startedAt)
 * Pauses every replica until the retry-after, empties the request bucket and, once per episode (a 429 of a
 * request started before the last slow-down doesn't count again), lowers the pace by 15%.
 */
export const RATE_LIMITED = `${PRELUDE}
local resumeAt = now + tonumber(ARGV[6])
if resumeAt > pausedUntil then redis.call('HSET', KEYS[4], 'pausedUntil', tostring(resumeAt)) end
local rl = bucket(KEYS[1], rpm)
save(KEYS[1], math.min(rl, 0))
save(KEYS[2], (bucket(KEYS[2], tpm)))
local slowed = 0
if tonumber(ARGV[7]) >= lastSlowdown then
  redis.call('HSET', KEYS[4], 'pace', tostring(math.max(0.05, pace * 0.85)), 'lastSlowdown', tostring(now))
  slowed = 1
end
redis.call('PEXPIRE', KEYS[4], 3600000)
return slowed
`;

/** renew(KEYS sem; ARGV leaseId leaseMs): extends a held lease; 0 when it had already expired. */
export const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
`;

/** observe(KEYS ctl; ARGV rpm tpm (0: not seen)): records lower limits a provider reported. */
export const OBSERVE = `
local function lower(field, v)
  v = tonumber(v)
  if v <= 0 then return end
  local cur = tonumber(redis.call('HGET', KEYS[1], field))
  if not cur or v < cur then redis.call('HSET', KEYS[1], field, tostring(v)) end
end
lower('seenRpm', ARGV[1])
lower('seenTpm', ARGV[2])
redis.call('PEXPIRE', KEYS[1], 3600000)
return 1
`;

/** state(KEYS ctl sem): pace, ms left of the pause, live leases (for tests and diagnostics). */
export const STATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local c = redis.call('HMGET', KEYS[1], 'pace', 'pausedUntil')
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
return {tostring(tonumber(c[1]) or 1), math.max(0, (tonumber(c[2]) or 0) - now), redis.call('ZCARD', KEYS[2])}
`;

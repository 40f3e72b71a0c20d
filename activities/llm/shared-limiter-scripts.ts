// The Lua scripts of the shared limiter. Each runs atomically in Redis/Valkey and reads the server's clock
// (TIME), so replicas' clocks never matter. They follow pacing.ts (the same bucket shape and GCRA schedule
// as the per-process limiter). Keys of one model (all in one hash slot: `{…}` tag):
//   req, tok  hash {tat}: the request and token budgets (time each bucket is full again, Redis ms)
//   sem       sorted set leaseId -> expiry ms: concurrency leases; an expired lease (a dead holder) is dropped
//   ctl       hash {pausedUntil, pace, lastSlowdown, seenRpm, seenTpm}: the 429 pause, the adaptive pace and
//             limits learned from response headers, shared by every replica
// Keys expire after an idle hour so retired models leave nothing behind.

/** Common prelude (ARGV rpm tpm maxConc burst headroom window): the clock, the limits, the bucket shapes. */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
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
local win = tonumber(ARGV[6])
-- pacing.ts bucketShape: capacity and ms per unit at the current pace
local function shape(perMinute, whole)
  local share = perMinute * win / 60
  local cap = math.max(1, math.min(burst * h * perMinute / 60, (1 - h) / 2 * share))
  local perMs = h * perMinute / 60000
  if whole then
    if share >= 1 then perMs = math.min(perMs, (math.floor(share) + 1 - cap) / (win * 1000)) end
    perMs = perMs * 0.999
  end
  return cap, 1 / (perMs * pace)
end
local function tat(key)
  return tonumber(redis.call('HGET', key, 'tat')) or 0
end
local function save(key, v)
  redis.call('HSET', key, 'tat', string.format('%.3f', v))
  redis.call('PEXPIRE', key, 3600000)
end
`;

/**
 * acquire(KEYS req tok sem ctl; ARGV rpm tpm maxConc burst headroom window tokens leaseId leaseMs aheadMs)
 * -> {1, now, sendAt} granted: a slot at Redis time sendAt (at most aheadMs away), handed out at now;
 *    {0, waitMs} not yet (-1: no free lease).
 */
export const ACQUIRE = `${PRELUDE}
local tokens = tonumber(ARGV[7])
local ahead = tonumber(ARGV[10])
if pausedUntil - now > ahead then return {0, math.ceil(pausedUntil - now - ahead)} end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= maxConc then return {0, -1} end
local rc, ri = shape(rpm, true)
local tc, ti = shape(tpm, false)
local rt = tat(KEYS[1])
local tt = tat(KEYS[2])
local at = math.max(now, pausedUntil, rt - (rc - 1) * ri, tt - (tc - math.min(tokens, tc)) * ti)
if at - now > ahead then return {0, math.ceil(at - now - ahead)} end
save(KEYS[1], math.max(rt, at) + ri)
save(KEYS[2], math.max(tt, at) + tokens * ti)
redis.call('ZADD', KEYS[3], at + tonumber(ARGV[9]), ARGV[8])
redis.call('PEXPIRE', KEYS[3], 3600000)
return {1, string.format('%.3f', now), string.format('%.3f', at)}
`;

/**
 * release(KEYS req tok sem ctl; ARGV rpm tpm maxConc burst headroom window leaseId extraTokens)
 * Frees the lease, charges tokens used beyond the reservation, raises the pace a little.
 */
export const RELEASE = `${PRELUDE}
redis.call('ZREM', KEYS[3], ARGV[7])
local extra = tonumber(ARGV[8])
if extra > 0 then
  local tc, ti = shape(tpm, false)
  save(KEYS[2], math.max(tat(KEYS[2]), now) + extra * ti)
end
if pace < 1 then
  redis.call('HSET', KEYS[4], 'pace', tostring(math.min(1, pace + 0.02)))
  redis.call('PEXPIRE', KEYS[4], 3600000)
end
return 1
`;

/**
 * rateLimited(KEYS req tok sem ctl; ARGV rpm tpm maxConc burst headroom window retryAfterMs startedAt)
 * Pauses every replica until the retry-after, empties the request bucket and, once per episode (a 429 of a
 * request handed out before the last slow-down doesn't count again), lowers the pace by 15%.
 */
export const RATE_LIMITED = `${PRELUDE}
local resumeAt = now + tonumber(ARGV[7])
if resumeAt > pausedUntil then redis.call('HSET', KEYS[4], 'pausedUntil', tostring(math.ceil(resumeAt))) end
local rc, ri = shape(rpm, true)
save(KEYS[1], math.max(tat(KEYS[1]), now + rc * ri))
local slowed = 0
if tonumber(ARGV[8]) >= lastSlowdown then
  redis.call('HSET', KEYS[4], 'pace', tostring(math.max(0.05, pace * 0.85)), 'lastSlowdown', tostring(math.floor(now)))
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

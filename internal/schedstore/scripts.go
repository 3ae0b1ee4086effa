package schedstore

import "github.com/redis/go-redis/v9"

// Every script receives the keys it touches in KEYS; the schedule scripts
// take the nine keys of keys.all in that order:
// 1 sched, 2 index, 3 due, 4 inflight, 5 recent, 6 running, 7 buffer,
// 8 execs, 9 nsExecs, 10 def.

// createScript stores a new schedule unless the id is taken.
// ARGV: 1 id, 2 request id, 3 due score or "", 4 member, 5 definition,
// 6.. field/value pairs.
// Returns {code, version}: 0 = exists, 1 = same request id (idempotent retry), 2 = created.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'rid') == ARGV[2] then
    return {1, redis.call('HGET', KEYS[1], 'v')}
  end
  return {0, ''}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('SET', KEYS[10], ARGV[5])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4]) end
return {2, redis.call('HGET', KEYS[1], 'v')}
`)

// replaceScript overwrites fields of an existing schedule, bumps its version
// (the conflict token) and, when asked, its generation (which invalidates
// fires claimed under the old definition), and moves its due entry.
// A generation bump while the schedule's fire is claimed (in flight) and
// its nominal time had passed by the update keeps that nominal time in
// field "cn", so that the fire is not lost if its claimer dies before
// committing: whoever commits the claim next fires it (deduplicated by its
// workflow id) and clears the field. Field "cw" keeps the workflow id base
// of the old definition, so the re-fire uses the id the claimer used.
// ARGV: 1 expected version or "", 2 due score ("" removes the due
// entry), 3 member, 4 bump generation ("1"/"0"), 5 definition or "" to keep
// it, 6 the update time (ms), 7.. field/value pairs.
// Returns {code, version}: 0 = missing, 1 = stale version, 2 = done.
var replaceScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, ''} end
local v = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] ~= '' and ARGV[1] ~= v then return {1, v} end
if ARGV[4] == '1' and redis.call('ZSCORE', KEYS[4], ARGV[3]) then
  local n = redis.call('HGET', KEYS[1], 'n')
  if n and n ~= '' and tonumber(n) * 1000 <= tonumber(ARGV[6]) then
    if redis.call('HSETNX', KEYS[1], 'cn', n) == 1 then
      -- Keep the workflow id base the claimer used, so the re-fire finds a
      -- run it may already have started even if this update renames it.
      local base = ''
      local ok, d = pcall(cjson.decode, redis.call('GET', KEYS[10]) or '')
      if ok and type(d) == 'table' and type(d.action) == 'table' and type(d.action.workflow_id) == 'string' then
        base = d.action.workflow_id
      end
      if base == '' then
        base = string.sub(ARGV[3], (string.find(ARGV[3], '/', 1, true) or 0) + 1)
      end
      redis.call('HSET', KEYS[1], 'cw', base)
    end
  end
end
if #ARGV >= 7 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
if ARGV[5] ~= '' then redis.call('SET', KEYS[10], ARGV[5]) end
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[1], 'g', 1) end
local nv = redis.call('HINCRBY', KEYS[1], 'v', 1)
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[3], ARGV[3])
else
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
end
return {2, tostring(nv)}
`)

// deleteScript removes a schedule and everything kept for it except the
// namespace's execution records. ARGV: 1 id, 2 member. Returns 0 when missing.
var deleteScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[10])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
return 1
`)

// seqScript increments a schedule's trigger counter. Returns -1 when missing.
var seqScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HINCRBY', KEYS[1], 't', 1)
`)

// claimScript claims due fires of one partition: it moves up to ARGV[3]
// entries due at or before ARGV[4] from the due set to the in-flight set
// with deadline ARGV[2], after first re-claiming in-flight entries whose
// deadline passed by ARGV[1] (their claimer crashed or stalled).
// KEYS: 1 due, 2 inflight. Returns the claimed members.
var claimScript = redis.NewScript(`
local out = {}
local limit = tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, limit)
for _, m in ipairs(expired) do
  redis.call('ZADD', KEYS[2], ARGV[2], m)
  out[#out + 1] = m
end
local left = limit - #out
if left > 0 then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4], 'LIMIT', 0, left)
  for _, m in ipairs(due) do
    redis.call('ZREM', KEYS[1], m)
    redis.call('ZADD', KEYS[2], ARGV[2], m)
    out[#out + 1] = m
  end
end
return out
`)

// releaseScript hands a claim back unused: the entry leaves the in-flight
// set and, unless the schedule was deleted or an update already put it
// back, returns to the due set at ARGV[2]. A claim that is no longer in
// flight (committed, or taken over) is left alone.
// KEYS: as keys.all. ARGV: 1 member, 2 due score. Returns 1 when released.
var releaseScript = redis.NewScript(`
if not redis.call('ZSCORE', KEYS[4], ARGV[1]) then return 0 end
redis.call('ZREM', KEYS[4], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HGET', KEYS[1], 'p') ~= '1' then
  redis.call('ZADD', KEYS[3], 'NX', ARGV[2], ARGV[1])
end
return 1
`)

// commitScript records what the scheduler did with a schedule: counters,
// execution records, recent actions, open runs, buffer changes and, for a
// claimed fire, the next due time. ARGV[1] is a JSON-encoded commitOp;
// the execution records and then the recent actions (oldest first) follow
// it as plain strings.
// A claimed commit applies only if the schedule's generation and next time
// are those the claimer read: another claimer that already committed the
// same fire makes it "stale" (nothing is written twice); an update in
// between makes it "moved" (records are kept, the update's next time wins).
// Returns "gone", "stale", "moved" or "ok".
var commitScript = redis.NewScript(`
local op = cjson.decode(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'g', 'n', 'p', 'lim', 'rem')
if not h[1] then
  if op.claimed then redis.call('ZREM', KEYS[4], op.m) end
  return 'gone'
end
local limited = h[4] == '1'
-- remaining returns the remaining actions after op.dec, not below 0.
local function remaining()
  local r = tonumber(h[5] or '0')
  if op.dec and op.dec > 0 then
    r = r - op.dec
    if r < 0 then r = 0 end
  end
  return r
end
local res = 'ok'
if op.claimed then
  if h[1] == op.g then
    if h[2] ~= op.n then return 'stale' end
    local active = h[3] ~= '1'
    if limited then
      local r = remaining()
      redis.call('HSET', KEYS[1], 'n', op.next, 'rem', r)
      if r <= 0 then active = false end
    else
      redis.call('HSET', KEYS[1], 'n', op.next)
    end
    if active and op.due and op.due ~= '' then
      redis.call('ZADD', KEYS[3], op.due, op.m)
    else
      redis.call('ZREM', KEYS[3], op.m)
    end
  else
    res = 'moved'
  end
  -- The claim's fire, interrupted by an update or not, is done.
  redis.call('HDEL', KEYS[1], 'cn', 'cw')
  redis.call('ZREM', KEYS[4], op.m)
elseif limited and op.dec and op.dec > 0 then
  -- Scheduled fires started outside a claim (from the buffer) count too.
  local r = remaining()
  redis.call('HSET', KEYS[1], 'rem', r)
  if r <= 0 then redis.call('ZREM', KEYS[3], op.m) end
end
if op.inc then
  for k, d in pairs(op.inc) do redis.call('HINCRBY', KEYS[1], k, d) end
end
local a = 2
if op.x and #op.x > 0 then
  local zs = {}
  for _, score in ipairs(op.x) do
    zs[#zs + 1] = score
    zs[#zs + 1] = ARGV[a]
    a = a + 1
  end
  redis.call('ZADD', KEYS[8], unpack(zs))
  redis.call('ZADD', KEYS[9], unpack(zs))
  if op.trim then
    redis.call('ZREMRANGEBYRANK', KEYS[8], 0, -(op.xcap + 1))
    redis.call('ZREMRANGEBYRANK', KEYS[9], 0, -(op.nscap + 1))
  end
end
if op.nr and op.nr > 0 then
  redis.call('LPUSH', KEYS[5], unpack(ARGV, a, a + op.nr - 1))
  redis.call('LTRIM', KEYS[5], 0, 9)
end
if op.delrun then
  for _, w in ipairs(op.delrun) do redis.call('HDEL', KEYS[6], w) end
end
if op.addrun then
  for _, p in ipairs(op.addrun) do redis.call('HSET', KEYS[6], p[1], p[2]) end
end
if op.pop then
  for _, b in ipairs(op.pop) do
    if redis.call('LINDEX', KEYS[7], 0) == b then redis.call('LPOP', KEYS[7]) end
  end
end
if op.push then
  for _, b in ipairs(op.push) do redis.call('RPUSH', KEYS[7], b) end
end
return res
`)

package runstore

import "github.com/redis/go-redis/v9"

// Every script receives ARGV[1] = the partition's key base (hash-tagged),
// ARGV[2] = the events channel, ARGV[3] = the partition number and
// ARGV[4] = now in Unix milliseconds (from the injected clock, never from
// Redis, so tests drive time). Keys the script learns only while it runs
// (the run named by a popped queue entry, the indexes of a run) are built
// from ARGV[1] and therefore share the slot of KEYS[1], as asynq's scripts
// do. Status values are runs.Status numbers as strings.
const luaLib = `
local B, CHAN, P, NOW = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local function rkey(ns, wf, rid) return B .. ':run:' .. ns .. ':' .. wf .. ':' .. rid end
local function tm(kind, ns, wf, rid, att) return kind .. '|' .. ns .. '|' .. wf .. '|' .. rid .. '|' .. att end
local function set_status(run, ns, wf, rid, old, new)
  local m = rid .. '|' .. wf
  if old and old ~= '' then redis.call('ZREM', B .. ':idx:' .. ns .. ':st:' .. old, m) end
  redis.call('ZADD', B .. ':idx:' .. ns .. ':st:' .. new, 0, m)
  redis.call('HSET', run, 'st', new)
end
local function enqueue(ns, wf, rid, q)
  redis.call('RPUSH', B .. ':q:' .. ns .. ':' .. q, wf .. '|' .. rid)
  redis.call('PUBLISH', CHAN, 'q|' .. ns .. '|' .. q .. '|' .. P)
end
local function close_run(run, status, failjson, msg)
  local h = redis.call('HMGET', run, 'ns', 'wf', 'rid', 'st', 'att', 'osid', 'onom', 'cron')
  local ns, wf, rid, att = h[1], h[2], h[3], h[5]
  set_status(run, ns, wf, rid, h[4], status)
  redis.call('HSET', run, 'xt', NOW, 'ld', '0')
  if failjson ~= '' then redis.call('HSET', run, 'fail', failjson) end
  if redis.call('HEXISTS', run, 'a' .. att .. 's') == 1 and redis.call('HEXISTS', run, 'a' .. att .. 'e') == 0 then
    redis.call('HSET', run, 'a' .. att .. 'e', NOW)
    if failjson ~= '' then redis.call('HSET', run, 'a' .. att .. 'f', failjson) end
  end
  local wfk = B .. ':wf:' .. ns .. ':' .. wf
  if redis.call('HGET', wfk, 'open') == rid then redis.call('HDEL', wfk, 'open') end
  local tk = B .. ':timers'
  local n = tonumber(att)
  redis.call('ZREM', tk, tm('start', ns, wf, rid, n + 1), tm('lease', ns, wf, rid, n), tm('rto', ns, wf, rid, n), tm('xto', ns, wf, rid, 0))
  if h[8] and h[8] ~= '' and status ~= '7' then
    redis.call('ZADD', tk, NOW, tm('cron', ns, wf, rid, 0))
  end
  if h[6] and h[6] ~= '' then
    redis.call('XADD', B .. ':closed', '*', 'ns', ns, 'wf', wf, 'rid', rid, 'sid', h[6], 'nom', h[7] or '0', 'st', status, 'xt', NOW, 'msg', msg)
  end
  redis.call('PUBLISH', CHAN, 'c|' .. ns .. '|' .. wf .. '|' .. rid)
end
`

// startScript creates a run. KEYS: run, workflow, request, timers. ARGV
// from 5: ns, wf, rid, id-reuse policy, if-not-exists, request id, due ms,
// execution deadline ms, queue, expected latest run (cron chains), timer
// member to remove, request TTL s, type, schedule id, then field/value
// pairs. Returns {code, run id}: 0 started, 1 existing, 2 open run, 3 reuse
// rejected, 4 chain superseded.
var startScript = redis.NewScript(luaLib + `
local run, wfk, reqk, tk = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ns, wf, rid, policy, ifne, reqid = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local due, xdl, q, expect, rmtm, ttl, wtype, sid = ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15], ARGV[16], ARGV[17], ARGV[18]
if rmtm ~= '' then redis.call('ZREM', tk, rmtm) end
if reqid ~= '' then
  local prev = redis.call('GET', reqk)
  if prev then return {1, prev} end
end
local cur = redis.call('HMGET', wfk, 'open', 'latest')
local open, latest = cur[1], cur[2]
if expect ~= '' then
  if latest ~= expect or open then return {4, latest or ''} end
elseif open then
  if ifne == '1' then return {1, open} end
  if policy ~= '4' then return {2, open} end
  close_run(rkey(ns, wf, open), '7', '{"message":"terminated: the workflow id was started again with id reuse policy TERMINATE_IF_RUNNING","type":"Terminated","non_retryable":true}', 'terminated by a new start')
elseif latest then
  if ifne == '1' then return {1, latest} end
  if policy == '3' then return {3, latest} end
  if policy == '2' and redis.call('HGET', rkey(ns, wf, latest), 'st') == '4' then return {3, latest} end
end
local fields = {}
for i = 19, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', run, unpack(fields))
redis.call('HSET', wfk, 'open', rid, 'latest', rid)
if reqid ~= '' then redis.call('SET', reqk, rid, 'EX', ttl) end
local m = rid .. '|' .. wf
local ib = B .. ':idx:' .. ns .. ':'
redis.call('ZADD', ib .. 'all', 0, m)
redis.call('ZADD', ib .. 'type:' .. wtype, 0, m)
redis.call('ZADD', ib .. 'q:' .. q, 0, m)
if sid ~= '' then redis.call('ZADD', ib .. 'sch:' .. sid, 0, m) end
if tonumber(xdl) > 0 then redis.call('ZADD', tk, xdl, tm('xto', ns, wf, rid, 0)) end
if tonumber(due) > tonumber(NOW) then
  set_status(run, ns, wf, rid, '', '1')
  redis.call('ZADD', tk, due, tm('start', ns, wf, rid, 1))
else
  set_status(run, ns, wf, rid, '', '2')
  enqueue(ns, wf, rid, q)
end
return {0, rid}
`)

// claimScript leases up to n pending runs from one queue partition.
// KEYS: queue, timers. ARGV from 5: n, worker identity, ns. Returns one
// array per task: wf, rid, attempt, type, input, heartbeat ms, scheduled
// ms, execution deadline ms, run timeout ms.
var claimScript = redis.NewScript(luaLib + `
local out = {}
local n, ident, ns = tonumber(ARGV[5]), ARGV[6], ARGV[7]
local guard = 0
while #out < n and guard < 1000 do
  guard = guard + 1
  local m = redis.call('LPOP', KEYS[1])
  if not m then break end
  local sep = string.find(m, '|', 1, true)
  local wf, rid = string.sub(m, 1, sep - 1), string.sub(m, sep + 1)
  local run = rkey(ns, wf, rid)
  local h = redis.call('HMGET', run, 'st', 'hb', 'rto', 'stt', 'type', 'in', 'sch', 'xdl')
  if h[1] == '2' then
    local att = redis.call('HINCRBY', run, 'att', 1)
    set_status(run, ns, wf, rid, '2', '3')
    local ld = tonumber(NOW) + tonumber(h[2])
    redis.call('HSET', run, 'a' .. att .. 's', NOW, 'a' .. att .. 'w', ident, 'ld', ld)
    if not h[4] or h[4] == '' or h[4] == '0' then redis.call('HSET', run, 'stt', NOW) end
    redis.call('ZADD', KEYS[2], ld, tm('lease', ns, wf, rid, att))
    local rto = tonumber(h[3] or '0')
    if rto > 0 then redis.call('ZADD', KEYS[2], tonumber(NOW) + rto, tm('rto', ns, wf, rid, att)) end
    out[#out + 1] = {wf, rid, att, h[5] or '', h[6] or '', h[2], h[7] or '0', h[8] or '0', h[3] or '0'}
  end
end
return out
`)

// heartbeatScript extends the current attempt's lease. KEYS: run, timers.
// ARGV from 5: attempt, ns, wf, rid. Returns {1, cancel requested} or
// {-1} (no run) or {-2, status, attempt} (not the current attempt).
var heartbeatScript = redis.NewScript(luaLib + `
local h = redis.call('HMGET', KEYS[1], 'st', 'att', 'hb', 'cr')
if not h[1] then return {-1, '0', '0'} end
if h[1] ~= '3' or h[2] ~= ARGV[5] then return {-2, h[1], h[2]} end
local ld = tonumber(NOW) + tonumber(h[3])
redis.call('HSET', KEYS[1], 'ld', ld)
redis.call('ZADD', KEYS[2], ld, tm('lease', ARGV[6], ARGV[7], ARGV[8], ARGV[5]))
return {1, h[4] or '0', h[2]}
`)

// completeScript closes the current attempt and the run as COMPLETED.
// KEYS: run. ARGV from 5: attempt, result JSON. Returns {1, status,
// attempt}, {-1} or {-2, status, attempt}.
var completeScript = redis.NewScript(luaLib + `
local h = redis.call('HMGET', KEYS[1], 'st', 'att')
if not h[1] then return {-1, '0', '0'} end
if h[1] ~= '3' or h[2] ~= ARGV[5] then return {-2, h[1], h[2]} end
redis.call('HSET', KEYS[1], 'res', ARGV[6], 'a' .. ARGV[5] .. 'e', NOW)
close_run(KEYS[1], '4', '', '')
return {1, '4', h[2]}
`)

// failScript ends the current attempt with a failure and then, unless a
// cancel was requested (which closes the run as CANCELED), either closes
// the run ("close", with a status), schedules a retry ("retry", at a due
// time) or puts it straight back on its queue ("redeliver").
// KEYS: run, timers. ARGV from 5: attempt, failure JSON, message, action,
// close status, due ms, lease check ("1": do nothing while the lease is
// still valid), timer member to remove. Returns {1, new status, attempt},
// {0, status, attempt} (lease still valid), {-1} or {-2, status, attempt}.
var failScript = redis.NewScript(luaLib + `
local run = KEYS[1]
if ARGV[12] ~= '' then redis.call('ZREM', KEYS[2], ARGV[12]) end
local h = redis.call('HMGET', run, 'st', 'att', 'cr', 'ns', 'wf', 'rid', 'q', 'ld')
if not h[1] then return {-1, '0', '0'} end
if h[1] ~= '3' or h[2] ~= ARGV[5] then return {-2, h[1], h[2]} end
local att, ns, wf, rid = h[2], h[4], h[5], h[6]
if ARGV[11] == '1' and tonumber(h[8] or '0') > tonumber(NOW) then
  redis.call('ZADD', KEYS[2], h[8], tm('lease', ns, wf, rid, att))
  return {0, h[1], att}
end
redis.call('HSET', run, 'a' .. att .. 'e', NOW, 'a' .. att .. 'f', ARGV[6])
if h[3] == '1' then
  close_run(run, '6', ARGV[6], ARGV[7])
  return {1, '6', att}
end
if ARGV[8] == 'close' then
  close_run(run, ARGV[9], ARGV[6], ARGV[7])
  return {1, ARGV[9], att}
end
redis.call('ZREM', KEYS[2], tm('lease', ns, wf, rid, att), tm('rto', ns, wf, rid, att))
redis.call('HSET', run, 'ld', '0')
if ARGV[8] == 'redeliver' then
  set_status(run, ns, wf, rid, '3', '2')
  enqueue(ns, wf, rid, h[7])
  return {1, '2', att}
end
set_status(run, ns, wf, rid, '3', '1')
redis.call('ZADD', KEYS[2], ARGV[10], tm('start', ns, wf, rid, tonumber(att) + 1))
return {1, '1', att}
`)

// promoteScript makes a SCHEDULED run PENDING when its start timer fires.
// KEYS: run, timers. ARGV from 5: the attempt the timer starts, timer
// member. Returns 1 when promoted, 0 when the timer was stale.
var promoteScript = redis.NewScript(luaLib + `
redis.call('ZREM', KEYS[2], ARGV[6])
local h = redis.call('HMGET', KEYS[1], 'st', 'att', 'ns', 'wf', 'rid', 'q')
if h[1] ~= '1' or tonumber(h[2]) + 1 ~= tonumber(ARGV[5]) then return 0 end
set_status(KEYS[1], h[3], h[4], h[5], '1', '2')
enqueue(h[3], h[4], h[5], h[6])
return 1
`)

// closeOpenScript terminates, times out or cancels an open run. A cancel of
// a RUNNING run only sets the cancel flag, which the worker sees on its
// next heartbeat; a cancel of a run no worker holds closes it at once.
// KEYS: run, timers. ARGV from 5: status, failure JSON, message, timer
// member to remove, mode ("close" or "cancel"). Returns {1, status},
// {-1, '0'} (no run) or {-3, status} (already closed).
var closeOpenScript = redis.NewScript(luaLib + `
if ARGV[8] ~= '' then redis.call('ZREM', KEYS[2], ARGV[8]) end
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return {-1, '0'} end
if tonumber(st) >= 4 then return {-3, st} end
if ARGV[9] == 'cancel' and st == '3' then
  redis.call('HSET', KEYS[1], 'cr', '1', 'creason', ARGV[7])
  return {1, st}
end
if ARGV[9] == 'cancel' then redis.call('HSET', KEYS[1], 'cr', '1', 'creason', ARGV[7]) end
close_run(KEYS[1], ARGV[5], ARGV[6], ARGV[7])
return {1, ARGV[5]}
`)

// claimTimersScript returns up to ARGV[2] members of the timer set due at
// ARGV[1] and pushes each ARGV[3] ms into the future, so that a replica
// that dies while handling one leaves it to fire again, and two replicas
// never handle the same one at once. The handler's transition script
// removes the member. KEYS: timers.
var claimTimersScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local later = tonumber(ARGV[1]) + tonumber(ARGV[3])
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], later, m) end
return due
`)

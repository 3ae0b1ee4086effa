package runstore

import "github.com/redis/go-redis/v9"

// Every script receives ARGV[1] = the partition's key base (hash-tagged),
// ARGV[2] = the events channel, ARGV[3] = the partition number, ARGV[4] =
// now in Unix milliseconds (from the injected clock, never from Redis, so
// tests drive time) and ARGV[5] = the retention of closed runs in
// milliseconds (0: keep them). Keys the script learns only while it runs
// (the run named by a popped queue entry, the indexes of a run) are built
// from ARGV[1] and therefore share the slot of KEYS[1], as asynq's scripts
// do. Status values are runs.Status numbers as strings.
//
// Runs are indexed in "type:<name>", "q:<queue>", "sch:<id>" and one
// status index: "open" for SCHEDULED, PENDING and RUNNING runs (so that a
// claim or a retry moves no index entry) and "st:<status>" for each closed
// status. Every run is in exactly one status index, so together they are
// the index of all runs. Fields that are empty or zero are not stored.
const luaLib = `
local B, CHAN, P, NOW, RET = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local function rkey(ns, wf, rid) return B .. ':run:' .. ns .. ':' .. wf .. ':' .. rid end
local function tm(kind, ns, wf, rid, att) return kind .. '|' .. ns .. '|' .. wf .. '|' .. rid .. '|' .. att end
local function stidx(ns, st)
  if tonumber(st) < 4 then return B .. ':idx:' .. ns .. ':open' end
  return B .. ':idx:' .. ns .. ':st:' .. st
end
local function qkey(ns, q) return B .. ':q:' .. ns .. ':' .. q end
-- announce tells pollers that task queue q of ns has entries in this partition.
local function announce(ns, q) redis.call('PUBLISH', CHAN, 'q|' .. ns .. '|' .. q .. '|' .. P) end
-- enqueue_all appends entries ("wf|rid") to a task queue partition and
-- announces the partition only when it stops being empty: a poller woken
-- then claims what it can, and a claim that leaves entries announces the
-- partition again (claimScript), so no entry waits unseen. Every entry
-- is a PENDING run (closing a PENDING run removes its entry).
local function enqueue_all(ns, q, entries)
  if redis.call('RPUSH', qkey(ns, q), unpack(entries)) == #entries then announce(ns, q) end
end
local function enqueue(ns, wf, rid, q) enqueue_all(ns, q, {wf .. '|' .. rid}) end
-- index_entry is a run's line in its partition's index queue.
local function index_entry(ns, rid, wf, q, sid, wtype)
  return ns .. '|' .. rid .. '|' .. wf .. '|' .. q .. '|' .. sid .. '|' .. wtype
end
-- close_run closes an open run. att is the current attempt (nil: read
-- it); extra holds more field/value pairs to set; h, when given, is
-- close_fields(run, att) read by the caller. The attempt's end is
-- recorded unless it was already. With a retention, the run hash expires
-- (a backstop a day after) and a gc timer deletes it and its index entries.
local function close_fields(run, att)
  local a = 'a' .. att
  return redis.call('HMGET', run, 'ns', 'wf', 'rid', 'st', 'osid', 'onom', 'cron', 'w', a .. 's', a .. 'e', 'att', 'q')
end
local function close_run(run, status, failjson, msg, att, extra, h)
  if not att then att = redis.call('HGET', run, 'att') or '0' end
  local a = 'a' .. att
  h = h or close_fields(run, att)
  local ns, wf, rid = h[1], h[2], h[3]
  local m = rid .. '|' .. wf
  redis.call('ZREM', stidx(ns, h[4]), m)
  redis.call('ZADD', stidx(ns, status), 0, m)
  if h[4] == '2' then redis.call('LREM', qkey(ns, h[12]), 1, wf .. '|' .. rid) end
  local set = extra or {}
  set[#set + 1] = 'st'; set[#set + 1] = status
  set[#set + 1] = 'xt'; set[#set + 1] = NOW
  set[#set + 1] = 'ld'; set[#set + 1] = '0'
  if failjson ~= '' then set[#set + 1] = 'fail'; set[#set + 1] = failjson end
  if h[9] and not h[10] then
    set[#set + 1] = a .. 'e'; set[#set + 1] = NOW
    if failjson ~= '' then set[#set + 1] = a .. 'f'; set[#set + 1] = failjson end
  end
  redis.call('HSET', run, unpack(set))
  local wfk = B .. ':wf:' .. ns .. ':' .. wf
  if redis.call('HGET', wfk, 'open') == rid then redis.call('HDEL', wfk, 'open') end
  local tk = B .. ':timers'
  local n = tonumber(att)
  redis.call('ZREM', tk, tm('start', ns, wf, rid, n + 1), tm('lease', ns, wf, rid, n), tm('rto', ns, wf, rid, n), tm('xto', ns, wf, rid, 0))
  if h[7] and h[7] ~= '' and status ~= '7' then
    redis.call('ZADD', tk, NOW, tm('cron', ns, wf, rid, 0))
  end
  if RET > 0 then
    redis.call('ZADD', tk, tonumber(NOW) + RET, tm('gc', ns, wf, rid, 0))
    redis.call('PEXPIRE', run, RET + 86400000)
  end
  if h[5] and h[5] ~= '' then
    redis.call('XADD', B .. ':closed', '*', 'ns', ns, 'wf', wf, 'rid', rid, 'sid', h[5], 'nom', h[6] or '0', 'st', status, 'xt', NOW, 'msg', msg)
  end
  if h[8] then redis.call('PUBLISH', CHAN, 'c|' .. ns .. '|' .. wf .. '|' .. rid) end
end
`

// startScript creates runs, several to a call: the pipeliner merges the
// starts of one partition that share a pipeline (a batch of
// StartWorkflows, a second's schedule fires) into one call. KEYS: timers,
// index queue, then run,
// workflow and request for each run. ARGV from 6, for each run: the
// number n of optional field arguments at its end, then ns, wf, rid,
// id-reuse policy, if-not-exists, request id, due ms, execution deadline
// ms, queue, expected latest run (cron chains), timer member to remove,
// request TTL s, type, schedule id, status (1 or 2), heartbeat ms, then
// the n optional field/value arguments. The fields every run has are
// written from the positional arguments (ns, wf, rid, type, q, st, ct =
// now, sch = due, hb, att = 0, p), so that no value is sent twice. The
// runs are started in order, so a later one sees an earlier one of the
// same workflow id. A run's index entries are queued (one RPUSH) rather
// than written (four ZADDs): indexScript writes them, in bulk, off the
// start's path. Returns one {code, run id} per run: 0 started, 1
// existing, 2 open run, 3 reuse rejected, 4 chain superseded, or {-1,
// error} for a start that raised an error (it alone fails).
var startScript = redis.NewScript(luaLib + `
local tk, ixq = KEYS[1], KEYS[2]
local function start(run, wfk, reqk, a, nf)
  local ns, wf, rid, policy, ifne, reqid = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local due, xdl, q, expect, rmtm, ttl = ARGV[a + 6], ARGV[a + 7], ARGV[a + 8], ARGV[a + 9], ARGV[a + 10], ARGV[a + 11]
  local wtype, sid, st, hb = ARGV[a + 12], ARGV[a + 13], ARGV[a + 14], ARGV[a + 15]
  if rmtm ~= '' then redis.call('ZREM', tk, rmtm) end
  local cur = redis.call('HMGET', wfk, 'open', 'latest')
  local open, latest = cur[1], cur[2]
  -- A request id can only have been seen for a workflow id that has runs.
  if reqid ~= '' and (open or latest) then
    local prev = redis.call('GET', reqk)
    if prev then return {1, prev} end
  end
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
  -- Store.Prepare writes the same fields (but st, ct and sch) from Go.
  redis.call('HSET', run, 'ns', ns, 'wf', wf, 'rid', rid, 'type', wtype, 'q', q, 'st', st, 'ct', NOW, 'sch', due, 'hb', hb, 'att', '0', 'p', P, unpack(ARGV, a + 16, a + 15 + nf))
  redis.call('HSET', wfk, 'open', rid, 'latest', rid)
  if reqid ~= '' then redis.call('SET', reqk, rid, 'EX', ttl) end
  redis.call('RPUSH', ixq, index_entry(ns, rid, wf, q, sid, wtype))
  if tonumber(xdl) > 0 then redis.call('ZADD', tk, xdl, tm('xto', ns, wf, rid, 0)) end
  if st == '1' then
    redis.call('ZADD', tk, due, tm('start', ns, wf, rid, 1))
  else
    enqueue(ns, wf, rid, q)
  end
  return {0, rid}
end
local out = {}
local a, k = 6, 3
while a <= #ARGV do
  local nf = tonumber(ARGV[a])
  -- A start that raises an error (a key of the wrong type, say) fails
  -- alone: the runs of the call are independent, and those before it are
  -- already written.
  local ok, r = pcall(start, KEYS[k], KEYS[k + 1], KEYS[k + 2], a + 1, nf)
  if not ok then
    if type(r) == 'table' then r = r.err end
    r = {-1, tostring(r)}
  end
  out[#out + 1] = r
  a, k = a + 17 + nf, k + 3
end
return out
`)

// activateScript starts runs that Prepare wrote, several to a call as
// startScript does, for idempotent immediate starts (IfNotExists) only: a
// workflow id that has a run answers {1, that run} and deletes the
// prepared one (unless it is that run); a prepared run that is gone answers code 5; otherwise
// the run gets its status and times, loses its expiry and is linked into
// the workflow id, the index queue and its task queue: {0, run id}.
// KEYS: timers, index queue, then run and workflow for each run. ARGV from
// 6, for each run: ns, wf, rid, queue, type, schedule id, execution
// deadline ms (0: none). The index entries go in one RPUSH per call, and
// the tasks in one per task queue.
var activateScript = redis.NewScript(luaLib + `
local tk, ixq = KEYS[1], KEYS[2]
local entries, queued, qorder = {}, {}, {}
local function activate(run, wfk, a)
  local ns, wf, rid, q, wtype, sid, xdl = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  local cur = redis.call('HMGET', wfk, 'open', 'latest')
  local have = cur[1] or cur[2]
  if have then
    -- A repeated activation (a lost reply) finds the run itself.
    if have ~= rid then redis.call('DEL', run) end
    return {1, have}
  end
  -- Prepare gave the run an expiry: no expiry to drop means no run.
  if redis.call('PERSIST', run) == 0 then return {5, ''} end
  if tonumber(xdl) > 0 then
    redis.call('HSET', run, 'st', '2', 'ct', NOW, 'sch', NOW, 'xdl', xdl)
    redis.call('ZADD', tk, xdl, tm('xto', ns, wf, rid, 0))
  else
    redis.call('HSET', run, 'st', '2', 'ct', NOW, 'sch', NOW)
  end
  redis.call('HSET', wfk, 'open', rid, 'latest', rid)
  entries[#entries + 1] = index_entry(ns, rid, wf, q, sid, wtype)
  local qk = ns .. '|' .. q
  local tasks = queued[qk]
  if not tasks then
    tasks = {}
    queued[qk] = tasks
    qorder[#qorder + 1] = {ns, q, tasks}
  end
  tasks[#tasks + 1] = wf .. '|' .. rid
  return {0, rid}
end
local out = {}
local a, k = 6, 3
while a <= #ARGV do
  local ok, r = pcall(activate, KEYS[k], KEYS[k + 1], a)
  if not ok then
    if type(r) == 'table' then r = r.err end
    r = {-1, tostring(r)}
  end
  out[#out + 1] = r
  a, k = a + 7, k + 2
end
if #entries > 0 then redis.call('RPUSH', ixq, unpack(entries)) end
for _, o in ipairs(qorder) do enqueue_all(o[1], o[2], o[3]) end
return out
`)

// discardScript deletes a prepared run (KEYS[1]) unless it was started:
// a started run has a status.
var discardScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'st') == 0 then redis.call('DEL', KEYS[1]) end
return 0
`)

// indexScript moves up to n entries of a partition's index queue into the
// run indexes: "open" if the run is still open (close_run has filed one
// that closed meanwhile under its closed status), and its type, queue and
// schedule indexes, one ZADD per index key for the whole batch.
// A run deleted meanwhile (gc) is skipped. KEYS: index queue. ARGV from
// 6: n. Returns the number of entries taken.
var indexScript = redis.NewScript(luaLib + `
local n = tonumber(ARGV[6])
-- Read, file, then trim: an error while filing loses no entry.
local es = redis.call('LRANGE', KEYS[1], 0, n - 1)
if #es == 0 then return 0 end
local groups, order = {}, {}
local function add(k, m)
  local g = groups[k]
  if not g then g = {}; groups[k] = g; order[#order + 1] = k end
  g[#g + 1] = '0'; g[#g + 1] = m
end
for _, e in ipairs(es) do
  local parts, from = {}, 1
  for _ = 1, 5 do
    local sep = string.find(e, '|', from, true)
    if not sep then break end
    parts[#parts + 1] = string.sub(e, from, sep - 1)
    from = sep + 1
  end
  -- A malformed entry (no writer makes one) is dropped, not retried forever.
  if #parts == 5 then
    local ns, rid, wf, q, sid, wtype = parts[1], parts[2], parts[3], parts[4], parts[5], string.sub(e, from)
    local st = redis.call('HGET', rkey(ns, wf, rid), 'st')
    if st then
      local m = rid .. '|' .. wf
      local ib = B .. ':idx:' .. ns .. ':'
      -- close_run filed a run that closed meanwhile under its status.
      if tonumber(st) < 4 then add(stidx(ns, st), m) end
      add(ib .. 'type:' .. wtype, m)
      add(ib .. 'q:' .. q, m)
      if sid ~= '' then add(ib .. 'sch:' .. sid, m) end
    end
  end
end
-- At most 2n members per key (n is indexBatch): one ZADD each.
for _, k in ipairs(order) do redis.call('ZADD', k, unpack(groups[k])) end
redis.call('LTRIM', KEYS[1], #es, -1)
return #es
`)

// claimScript leases up to n pending runs from one queue partition, and
// announces the partition again when it leaves entries in it.
// KEYS: queue, timers. ARGV from 6: n, worker identity, ns, queue name.
// Returns one
// array per task: wf, rid, attempt, type, input, heartbeat ms, scheduled
// ms, execution deadline ms, run timeout ms.
var claimScript = redis.NewScript(luaLib + `
local out = {}
local n, ident, ns = tonumber(ARGV[6]), ARGV[7], ARGV[8]
local guard = 0
while #out < n and guard < 1000 do
  local ms = redis.call('LPOP', KEYS[1], n - #out)
  if not ms then break end
  for _, m in ipairs(ms) do
    guard = guard + 1
    local sep = string.find(m, '|', 1, true)
    local wf, rid = string.sub(m, 1, sep - 1), string.sub(m, sep + 1)
    local run = rkey(ns, wf, rid)
    local h = redis.call('HMGET', run, 'st', 'hb', 'rto', 'stt', 'type', 'in', 'sch', 'xdl', 'att')
    if h[1] == '2' then
      local att = tonumber(h[9] or '0') + 1
      local a = 'a' .. att
      local ld = tonumber(NOW) + tonumber(h[2])
      if not h[4] or h[4] == '' or h[4] == '0' then
        redis.call('HSET', run, 'st', '3', 'att', att, a .. 's', NOW, a .. 'w', ident, 'ld', ld, 'stt', NOW)
      else
        redis.call('HSET', run, 'st', '3', 'att', att, a .. 's', NOW, a .. 'w', ident, 'ld', ld)
      end
      redis.call('ZADD', KEYS[2], ld, tm('lease', ns, wf, rid, att))
      local rto = tonumber(h[3] or '0')
      if rto > 0 then redis.call('ZADD', KEYS[2], tonumber(NOW) + rto, tm('rto', ns, wf, rid, att)) end
      out[#out + 1] = {wf, rid, att, h[5] or '', h[6] or '', h[2], h[7] or '0', h[8] or '0', h[3] or '0'}
    end
  end
end
if #out == n and redis.call('LLEN', KEYS[1]) > 0 then announce(ns, ARGV[9]) end
return out
`)

// heartbeatScript extends the current attempt's lease. KEYS: run, timers.
// ARGV from 6: attempt, ns, wf, rid. Returns {1, cancel requested} or
// {-1} (no run) or {-2, status, attempt} (not the current attempt).
var heartbeatScript = redis.NewScript(luaLib + `
local h = redis.call('HMGET', KEYS[1], 'st', 'att', 'hb', 'cr')
if not h[1] then return {-1, '0', '0'} end
if h[1] ~= '3' or h[2] ~= ARGV[6] then return {-2, h[1], h[2]} end
local ld = tonumber(NOW) + tonumber(h[3])
redis.call('HSET', KEYS[1], 'ld', ld)
redis.call('ZADD', KEYS[2], ld, tm('lease', ARGV[7], ARGV[8], ARGV[9], ARGV[6]))
return {1, h[4] or '0', h[2]}
`)

// completeScript closes the current attempt and the run as COMPLETED.
// KEYS: run. ARGV from 6: attempt, result JSON. Returns {1, status,
// attempt}, {-1} or {-2, status, attempt}.
var completeScript = redis.NewScript(luaLib + `
local h = close_fields(KEYS[1], ARGV[6])
if not h[4] then return {-1, '0', '0'} end
if h[4] ~= '3' or h[11] ~= ARGV[6] then return {-2, h[4], h[11] or '0'} end
local extra = {}
if ARGV[7] ~= '' then extra = {'res', ARGV[7]} end
close_run(KEYS[1], '4', '', '', ARGV[6], extra, h)
return {1, '4', ARGV[6]}
`)

// failScript ends the current attempt with a failure and then, unless a
// cancel was requested (which closes the run as CANCELED), either closes
// the run ("close", with a status), schedules a retry ("retry", at a due
// time) or puts it straight back on its queue ("redeliver").
// KEYS: run, timers. ARGV from 6: attempt, failure JSON, message, action,
// close status, due ms, lease check ("1": do nothing while the lease is
// still valid), timer member to remove. Returns {1, new status, attempt},
// {0, status, attempt} (lease still valid), {-1} or {-2, status, attempt}.
var failScript = redis.NewScript(luaLib + `
local run = KEYS[1]
if ARGV[13] ~= '' then redis.call('ZREM', KEYS[2], ARGV[13]) end
local h = redis.call('HMGET', run, 'st', 'att', 'cr', 'ns', 'wf', 'rid', 'q', 'ld')
if not h[1] then return {-1, '0', '0'} end
if h[1] ~= '3' or h[2] ~= ARGV[6] then return {-2, h[1], h[2]} end
local att, ns, wf, rid = h[2], h[4], h[5], h[6]
if ARGV[12] == '1' and tonumber(h[8] or '0') > tonumber(NOW) then
  redis.call('ZADD', KEYS[2], h[8], tm('lease', ns, wf, rid, att))
  return {0, h[1], att}
end
if h[3] == '1' then
  close_run(run, '6', ARGV[7], ARGV[8], att)
  return {1, '6', att}
end
if ARGV[9] == 'close' then
  close_run(run, ARGV[10], ARGV[7], ARGV[8], att)
  return {1, ARGV[10], att}
end
redis.call('ZREM', KEYS[2], tm('lease', ns, wf, rid, att), tm('rto', ns, wf, rid, att))
if ARGV[9] == 'redeliver' then
  redis.call('HSET', run, 'a' .. att .. 'e', NOW, 'a' .. att .. 'f', ARGV[7], 'ld', '0', 'st', '2')
  enqueue(ns, wf, rid, h[7])
  return {1, '2', att}
end
redis.call('HSET', run, 'a' .. att .. 'e', NOW, 'a' .. att .. 'f', ARGV[7], 'ld', '0', 'st', '1')
redis.call('ZADD', KEYS[2], ARGV[11], tm('start', ns, wf, rid, tonumber(att) + 1))
return {1, '1', att}
`)

// promoteScript makes a SCHEDULED run PENDING when its start timer fires.
// KEYS: run, timers. ARGV from 6: the attempt the timer starts, timer
// member. Returns 1 when promoted, 0 when the timer was stale.
var promoteScript = redis.NewScript(luaLib + `
redis.call('ZREM', KEYS[2], ARGV[7])
local h = redis.call('HMGET', KEYS[1], 'st', 'att', 'ns', 'wf', 'rid', 'q')
if h[1] ~= '1' or tonumber(h[2]) + 1 ~= tonumber(ARGV[6]) then return 0 end
redis.call('HSET', KEYS[1], 'st', '2')
enqueue(h[3], h[4], h[5], h[6])
return 1
`)

// closeOpenScript terminates, times out or cancels an open run. A cancel of
// a RUNNING run only sets the cancel flag, which the worker sees on its
// next heartbeat; a cancel of a run no worker holds closes it at once.
// KEYS: run, timers. ARGV from 6: status, failure JSON, message, timer
// member to remove, mode ("close" or "cancel"). Returns {1, status},
// {-1, '0'} (no run) or {-3, status} (already closed).
var closeOpenScript = redis.NewScript(luaLib + `
if ARGV[9] ~= '' then redis.call('ZREM', KEYS[2], ARGV[9]) end
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return {-1, '0'} end
if tonumber(st) >= 4 then return {-3, st} end
if ARGV[10] == 'cancel' and st == '3' then
  redis.call('HSET', KEYS[1], 'cr', '1', 'creason', ARGV[8])
  return {1, st}
end
local extra
if ARGV[10] == 'cancel' then extra = {'cr', '1', 'creason', ARGV[8]} end
close_run(KEYS[1], ARGV[6], ARGV[7], ARGV[8], nil, extra)
return {1, ARGV[6]}
`)

// releaseScript undoes a claim whose tasks never reached a worker: the run
// goes back to PENDING at the head of its queue, and the attempt is
// forgotten (the next delivery gets its number). KEYS: run, timers, queue.
// ARGV from 6: attempt, ns, wf, rid. Returns 1, or 0 when the attempt is
// no longer current.
var releaseScript = redis.NewScript(luaLib + `
local att, ns, wf, rid = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local h = redis.call('HMGET', KEYS[1], 'st', 'att', 'q')
if h[1] ~= '3' or h[2] ~= att then return 0 end
local n = tonumber(att)
redis.call('ZREM', KEYS[2], tm('lease', ns, wf, rid, att), tm('rto', ns, wf, rid, att))
redis.call('HDEL', KEYS[1], 'a' .. att .. 's', 'a' .. att .. 'w')
if n == 1 then redis.call('HDEL', KEYS[1], 'stt') end
redis.call('HSET', KEYS[1], 'st', '2', 'att', n - 1, 'ld', '0')
redis.call('LPUSH', KEYS[3], wf .. '|' .. rid)
announce(ns, h[3])
return 1
`)

// gcScript deletes a closed run once its retention is over: its hash, its
// index entries, and its workflow id's pointer when it is the latest run
// and none is open. A run whose hash already expired (the Redis TTL is a
// backstop a day after the retention) loses only its status index entry
// here; its other index entries are skipped by List.
// KEYS: run, workflow, timers. ARGV from 6: ns, wf, rid, timer member.
// Returns 1 when the run was deleted, 0 when it was gone or open.
var gcScript = redis.NewScript(luaLib + `
local ns, wf, rid = ARGV[6], ARGV[7], ARGV[8]
redis.call('ZREM', KEYS[3], ARGV[9])
local h = redis.call('HMGET', KEYS[1], 'st', 'type', 'q', 'osid')
local m = rid .. '|' .. wf
local ib = B .. ':idx:' .. ns .. ':'
if h[1] and tonumber(h[1]) < 4 then return 0 end
if not h[1] then
  for st = 4, 8 do redis.call('ZREM', ib .. 'st:' .. st, m) end
  return 0
end
redis.call('ZREM', ib .. 'st:' .. h[1], m)
redis.call('ZREM', ib .. 'type:' .. h[2], m)
redis.call('ZREM', ib .. 'q:' .. h[3], m)
if h[4] and h[4] ~= '' then redis.call('ZREM', ib .. 'sch:' .. h[4], m) end
redis.call('DEL', KEYS[1])
local w = redis.call('HMGET', KEYS[2], 'open', 'latest')
if not w[1] and w[2] == rid then redis.call('DEL', KEYS[2]) end
return 1
`)

// watchScript marks a run whose close someone waits for: only such a
// run's close is published. KEYS: run. Returns 1, or 0 for no run.
var watchScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'w', '1')
return 1
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

// Package runstore is Sundial's run model in Redis: workflow runs, the task
// queues workers long-poll through the server, attempt leases, and the
// timers that drive delayed starts, retries, timeouts and cron chains.
//
// # Layout
//
// Everything about one workflow id (its runs, its "latest/open" pointer,
// request-id dedupe keys, its entries in the run indexes) lives in one
// Redis Cluster slot, "{runs:<p>}", where p is a hash of namespace and
// workflow id modulo Options.Partitions. Each partition also has its own
// timer set, closed-run outbox stream, and its own list for every task
// queue. A task queue is therefore split into Partitions lists, so a hot
// queue spreads over the cluster, and every state transition — start,
// claim, heartbeat, complete, fail, timer — is one Lua script on one slot:
// the run record, the queue entry, the lease timer and the status index
// change together or not at all. All keys are built in keys.go.
//
// # Indexes, off the start path
//
// A start does not write the run's four index entries (type, queue,
// schedule, "open"); it appends one line to its partition's index queue.
// FlushIndexes moves queued lines into the indexes in bulk (one ZADD per
// index key per batch of at most 64 lines, reading the run's status at
// that moment, so a run closed before its flush is filed under its closed
// status only). The timer loop flushes once starts pause for 50 ms (or
// 200 ms after the first start since the last flush, under steady starts;
// timed from that start, so that a burst after a quiet spell is not
// interrupted as it begins), one partition's script at a time so
// that no flush holds Redis for more than about a millisecond, and List
// flushes before it reads, so listing stays strongly consistent, while a
// burst of starts (a second's worth of schedule fires) costs Redis about a
// third less on its path.
//
// # Merged start scripts
//
// The start script takes several runs. The pipeliner merges the starts of
// one partition that share a pipeline (a StartWorkflows batch, the fires
// of one second) into calls of at most 64 runs and hands each caller its
// own element of the reply, which saves Redis the fixed cost of a script
// call for all runs of a call but one. A later start of the batch sees an
// earlier one of the same workflow id, exactly as two calls would.
//
// # Prepared runs
//
// The scheduler knows a fire's run 300 ms before it is due, when it claims
// the fire. Once it has handed over the fires already due, Prepare writes
// the hashes of the others' runs (pipelines of 256), without a status and
// with a two-minute expiry; nothing names it (no workflow id, index,
// queue or timer), so it is invisible. At the due time the scheduler takes
// its overlap decision as always, and a start of the prepared run
// (StartRequest.PreparedRunID) only gives it its status and times, drops
// the expiry and links it into its workflow id, index queue and task
// queue (activateScript, merged like start scripts). That moves most of a
// burst's Redis work out of the burst: 5,000 starts at once cost 8 us of
// Redis each instead of 11-12 (BenchmarkStartBurst). A workflow id that
// already has a run answers that run and deletes the prepared one; a fire
// that does not start discards its prepared run (Discard, which never
// deletes a started run); a prepared run that expired makes the start go
// in full.
//
// # Why lists with a lease set, not Streams with consumer groups
//
// A queue entry only says "this run is deliverable"; the run hash is the
// source of truth for its status and attempt. Delivery (LPOP inside the
// claim script) moves the run to RUNNING, bumps the attempt and puts a
// lease entry in the partition's timer set, in one step. A lapsed lease is
// found by the same timer loop that handles every other due time, and
// redelivery is an RPUSH. Streams would add a second record of delivery
// (the pending-entries list) that must be kept consistent with the run
// hash, XAUTOCLAIM keeps the same attempt identity (so stale completions
// need the run hash anyway), and XDEL/XACK bookkeeping on every
// completion costs more than a list pop. Streams are used where their
// semantics fit: the closed-run outbox, which the scheduler consumes at
// least once through a consumer group.
//
// # Delivery, attempts and leases
//
// Delivery is at least once. Every delivery is a new attempt with a new
// number, including a redelivery after a lapsed lease; the task token names
// run and attempt, so a completion, failure or heartbeat from an attempt
// that is no longer current is rejected (errs.ErrFailedPrecondition). A
// lease lapses when no heartbeat arrives within the run's heartbeat timeout
// (default 30 s); the run then goes straight back on its queue, unless its
// retry policy's maximum attempts is reached (TIMED_OUT) or a cancel was
// requested (CANCELED). A failed attempt is retried after the retry
// policy's backoff; without a policy it is not retried. The run timeout
// bounds one attempt (a timed-out attempt is retried like a failure, and
// the run ends TIMED_OUT when no retry is left); the execution timeout
// bounds the whole run from its scheduled time.
//
// # Timers
//
// Each partition has a sorted set of "kind|ns|wf|rid|attempt" members
// scored by due time: start (delayed start or retry backoff), lease, rto
// (run timeout), xto (execution timeout), cron (start the next run of a
// cron chain) and gc (delete a closed run whose retention is over). A
// replica claims due members with a script that pushes their
// score 30 s ahead, so replicas never handle one member at once and a
// replica that dies mid-way leaves it to fire again; the transition
// script removes the member. Members carry the attempt number, so a timer
// left from an earlier attempt never acts on a later one.
//
// # Wake-ups
//
// Scripts PUBLISH "q|ns|queue|partition" when a queue partition stops
// being empty or a claim leaves entries in it (so under load most enqueues
// publish nothing, and every entry is still announced until claimed), and
// "c|ns|wf|rid" when a watched run closes (Store.WatchClose: a
// GetWorkflowResult waiting for it), on one channel (Store.Channel). The
// server holds one subscription per replica and wakes its waiting long
// polls in-process, so an idle poller costs no Redis connection.
//
// # Round trips
//
// The hot scripts (start, claim, heartbeat, complete, fail) of concurrent
// callers are sent together in one pipeline: a call goes out at once
// unless two pipelines are already in flight, and then rides on the next,
// so light load sees one EVALSHA per call and heavy load one round trip
// for many. CompleteMany and FailMany apply a worker's batch of reports in
// one pipeline. A run hash stores no empty or zero field, and a claim or a
// retry moves no index entry: open runs (SCHEDULED, PENDING, RUNNING)
// share one "open" status index.
//
// # Retention
//
// A closed run is kept for Options.Retention (default 7 days). Closing it
// adds a "gc" member to the timer set, due when the retention is over on
// the store's clock; the timer loop then deletes the run hash, its index
// entries and its workflow id's pointer (when the run is the latest and
// none is open), a bounded number per pass like every timer. The run hash
// also gets a Redis TTL of the retention plus a day, a backstop should no
// timer loop run.
package runstore

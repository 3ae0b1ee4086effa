package runstore

import (
	"hash/fnv"
	"strconv"
)

// keys builds every Redis key and channel the run store uses. Everything
// about one workflow id lives in one Cluster slot, named by the hash tag
// "{runs:<partition>}", where the partition is a hash of the namespace and
// workflow id. A task queue is split the same way: its partition p holds
// the runs of partition p, so the claim script touches a single slot.
type keys struct {
	prefix     string
	partitions int
}

// partition returns the partition that holds workflow id wf of namespace ns.
func (k keys) partition(ns, wf string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(ns))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(wf))
	return int(h.Sum32() % uint32(k.partitions))
}

// base is the hash-tagged start of every key in partition p. Scripts build
// the keys of a run they learn about while running (a popped queue entry)
// from it, so those keys share the slot of the keys passed in KEYS.
func (k keys) base(p int) string { return k.prefix + ":{runs:" + strconv.Itoa(p) + "}" }

// run is the hash holding one run.
func (k keys) run(p int, ns, wf, rid string) string {
	return k.base(p) + ":run:" + ns + ":" + wf + ":" + rid
}

// workflow is the hash naming a workflow id's latest and open run.
func (k keys) workflow(p int, ns, wf string) string { return k.base(p) + ":wf:" + ns + ":" + wf }

// request maps a start's request id to the run it started. The workflow
// id's length keeps ("a", "b:c") and ("a:b", "c") apart.
func (k keys) request(p int, ns, wf, reqID string) string {
	return k.base(p) + ":req:" + ns + ":" + strconv.Itoa(len(wf)) + ":" + wf + ":" + reqID
}

// timers is the partition's due-time set: members "kind|ns|wf|rid|attempt"
// scored by due time in Unix milliseconds.
func (k keys) timers(p int) string { return k.base(p) + ":timers" }

// queue is partition p of a task queue: a list of "wf|rid" ready to deliver.
func (k keys) queue(p int, ns, q string) string { return k.base(p) + ":q:" + ns + ":" + q }

// index is one of the partition's run indexes, a sorted set of "rid|wf"
// members with score 0, so lexical order is run-id (creation) order.
// kind is "open" (SCHEDULED, PENDING and RUNNING runs), "st:<closed
// status>", "type:<name>", "q:<queue>" or "sch:<id>".
func (k keys) index(p int, ns, kind string) string { return k.base(p) + ":idx:" + ns + ":" + kind }

// indexQueue is the partition's list of runs started but not yet in the
// type, queue, schedule and status indexes: "ns|rid|wf|queue|schedule|type"
// (the type last, as the only part that may hold '|'). See FlushIndexes.
func (k keys) indexQueue(p int) string { return k.base(p) + ":ixq" }

// closed is the partition's outbox stream of closed runs a schedule started.
func (k keys) closed(p int) string { return k.base(p) + ":closed" }

// channel is the pub/sub channel announcing enqueued tasks ("q|ns|queue|p")
// and closed runs ("c|ns|wf|rid"). Pub/sub is not keyed, so it has no slot.
func (k keys) channel() string { return k.prefix + ":runs-events" }

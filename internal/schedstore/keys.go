package schedstore

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// keys builds every Redis key the schedule store uses. It is the only place
// that knows the layout:
//
//	<prefix>:{sch<p>}:s:<ns>/<id>     hash: state, next time, counters (small values, so
//	                                  Redis keeps it in its compact listpack encoding)
//	<prefix>:{sch<p>}:d:<ns>/<id>     string: the definition (JSON)
//	<prefix>:{sch<p>}:r:<ns>/<id>     list: the last 10 actions (newest first)
//	<prefix>:{sch<p>}:run:<ns>/<id>   hash: open runs, workflow id -> run id
//	<prefix>:{sch<p>}:buf:<ns>/<id>   list: buffered fires (oldest first)
//	<prefix>:{sch<p>}:x:<ns>/<id>     zset: execution records of one schedule
//	<prefix>:{sch<p>}:xn:<ns>         zset: execution records of a namespace
//	<prefix>:{sch<p>}:ids:<ns>        zset: schedule ids of a namespace (lex order)
//	<prefix>:{sch<p>}:due             zset: member "<ns>/<id>", score = due time (ms)
//	<prefix>:{sch<p>}:inflight        zset: claimed fires, score = claim deadline (ms)
//
// p is the partition, a hash of namespace and id. Every key of one schedule
// and every partition-wide key share the hash tag {sch<p>}, so each script
// touches one Cluster slot. Namespaces cannot hold '/', so "<ns>/<id>" is
// unambiguous.
type keys struct {
	prefix     string
	partitions int
}

// partition returns the partition of a schedule.
func (k keys) partition(ns, id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(ns))
	_, _ = h.Write([]byte{'/'})
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(k.partitions))
}

func (k keys) tag(p int) string { return k.prefix + ":{sch" + strconv.Itoa(p) + "}" }

func member(ns, id string) string { return ns + "/" + id }

// splitMember undoes member.
func splitMember(m string) (ns, id string, ok bool) {
	return strings.Cut(m, "/")
}

func (k keys) sched(p int, m string) string    { return k.tag(p) + ":s:" + m }
func (k keys) def(p int, m string) string      { return k.tag(p) + ":d:" + m }
func (k keys) recent(p int, m string) string   { return k.tag(p) + ":r:" + m }
func (k keys) running(p int, m string) string  { return k.tag(p) + ":run:" + m }
func (k keys) buffer(p int, m string) string   { return k.tag(p) + ":buf:" + m }
func (k keys) execs(p int, m string) string    { return k.tag(p) + ":x:" + m }
func (k keys) nsExecs(p int, ns string) string { return k.tag(p) + ":xn:" + ns }
func (k keys) index(p int, ns string) string   { return k.tag(p) + ":ids:" + ns }
func (k keys) due(p int) string                { return k.tag(p) + ":due" }
func (k keys) inflight(p int) string           { return k.tag(p) + ":inflight" }

// all returns the keys of one schedule, in the order the scripts expect:
// sched, index, due, inflight, recent, running, buffer, execs, nsExecs, def.
func (k keys) all(ns, id string) []string {
	p := k.partition(ns, id)
	m := member(ns, id)
	return []string{k.sched(p, m), k.index(p, ns), k.due(p), k.inflight(p), k.recent(p, m), k.running(p, m), k.buffer(p, m), k.execs(p, m), k.nsExecs(p, ns), k.def(p, m)}
}

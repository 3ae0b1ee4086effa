package runstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/runs"
)

// TestIndexesAreWrittenOffTheStartPath: a start queues its index entries;
// FlushIndexes writes them into the status index the run is in by then
// (a run closed before the flush is not listed as open), its type (even
// one holding '|'), queue and schedule indexes, and skips a run deleted
// meanwhile. List flushes first, so a run just started is listed.
func TestIndexesAreWrittenOffTheStartPath(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		reqA := tb.req("a")
		reqA.Origin.ScheduleID = "s1"
		reqB := tb.req("b")
		reqB.WorkflowType = "T|x"
		ids := map[string]string{}
		for _, r := range []runs.StartRequest{reqA, reqB, tb.req("c"), tb.req("gone")} {
			res, err := tb.store.Start(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			ids[r.WorkflowID] = res.RunID
		}
		members := func(kind string) []string {
			t.Helper()
			var out []string
			for p := range tb.store.Partitions() {
				ms, err := tb.redis.Client.ZRange(ctx, tb.store.k.index(p, tb.ns, kind), 0, -1).Result()
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					_, wf, _ := strings.Cut(m, "|")
					out = append(out, wf)
				}
			}
			slices.Sort(out)
			return out
		}
		if got := members("type:T"); len(got) != 0 {
			t.Fatalf("type index before the flush = %v, want empty (written off the start path)", got)
		}
		if err := tb.store.Terminate(ctx, tb.ns, "c", ids["c"], "test"); err != nil {
			t.Fatal(err)
		}
		p := tb.store.k.partition(tb.ns, "gone")
		if err := tb.redis.Client.Del(ctx, tb.store.k.run(p, tb.ns, "gone", ids["gone"])).Err(); err != nil {
			t.Fatal(err)
		}
		if err := tb.store.FlushIndexes(ctx); err != nil {
			t.Fatal(err)
		}
		for kind, want := range map[string][]string{
			"open":     {"a", "b"},
			"st:7":     {"c"},
			"type:T":   {"a", "c"},
			"type:T|x": {"b"},
			"q:q":      {"a", "b", "c"},
			"sch:s1":   {"a"},
		} {
			if got := members(kind); !slices.Equal(got, want) {
				t.Errorf("index %s = %v, want %v", kind, got, want)
			}
		}
		// A start right before List is listed: List flushes first.
		if _, err := tb.store.Start(ctx, tb.req("d")); err != nil {
			t.Fatal(err)
		}
		got, _, err := tb.store.List(ctx, ListQuery{Namespace: tb.ns, WorkflowType: "T"})
		if err != nil {
			t.Fatal(err)
		}
		var wfs []string
		for _, r := range got {
			wfs = append(wfs, r.WorkflowID)
		}
		slices.Sort(wfs)
		if want := []string{"a", "c", "d"}; !slices.Equal(wfs, want) {
			t.Errorf("List(type T) = %v, want %v", wfs, want)
		}
	})
}

// TestIndexFlushWaitsForStartsToPause: the timer loop files index entries
// once starts pause for indexQuiet, or indexMaxDelay after the first of
// steady starts, on the store's clock, however long ago the last flush
// was: a burst of starts after a quiet spell is not interrupted as it
// begins.
func TestIndexFlushWaitsForStartsToPause(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	ctx := context.Background()
	start := func(wf string) {
		t.Helper()
		if _, err := tb.store.Start(ctx, tb.req(wf)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.store.FlushIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	start("a")
	if tb.store.IndexFlushDue() {
		t.Fatal("flush due right after a start")
	}
	tb.clock.Advance(indexQuiet)
	if !tb.store.IndexFlushDue() {
		t.Fatalf("flush not due after %s without starts", indexQuiet)
	}
	if err := tb.store.FlushIndexesPaced(ctx); err != nil {
		t.Fatal(err)
	}
	// A quiet spell, then steady starts, each sooner than indexQuiet after
	// the last: the flush comes due once indexMaxDelay has passed since
	// the first of them.
	tb.clock.Advance(2 * indexMaxDelay)
	step := indexQuiet / 2
	for elapsed := time.Duration(0); elapsed < indexMaxDelay; elapsed += step {
		start(fmt.Sprint("s-", elapsed))
		if tb.store.IndexFlushDue() {
			t.Fatalf("flush due %s after the first start, during steady starts", elapsed)
		}
		tb.clock.Advance(step)
	}
	start("last")
	if !tb.store.IndexFlushDue() {
		t.Fatalf("flush not due %s after the first start", indexMaxDelay)
	}
}

// TestPacedFlushEmptiesEveryQueue: the timer loop's flush, one partition
// at a time, files a queue longer than one script call takes (a malformed
// line among them dropped), and sends no script when every queue is empty.
func TestPacedFlushEmptiesEveryQueue(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		var reqs []runs.StartRequest
		inFirst := 0 // runs in partition 0: more than one call's worth
		for i := 0; inFirst < 2*indexBatch+3; i++ {
			wf := fmt.Sprint("paced-", i)
			if tb.store.k.partition(tb.ns, wf) == 0 {
				inFirst++
			}
			reqs = append(reqs, tb.req(wf))
		}
		for _, o := range tb.store.StartMany(ctx, reqs) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
		}
		// A malformed line is dropped, and neither blocks the queue nor
		// loses the lines around it.
		if err := tb.redis.Client.RPush(ctx, tb.store.k.indexQueue(0), "not|an|index|line").Err(); err != nil {
			t.Fatal(err)
		}
		if err := tb.store.FlushIndexesPaced(ctx); err != nil {
			t.Fatal(err)
		}
		total := int64(0)
		for p := range tb.store.Partitions() {
			if n, err := tb.redis.Client.LLen(ctx, tb.store.k.indexQueue(p)).Result(); err != nil || n != 0 {
				t.Fatalf("partition %d: %d index entries left after the flush (%v)", p, n, err)
			}
			n, err := tb.redis.Client.ZCard(ctx, tb.store.k.index(p, tb.ns, "type:T")).Result()
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
		if total != int64(len(reqs)) {
			t.Fatalf("type index holds %d runs, want %d", total, len(reqs))
		}
		// With every queue empty, a flush sends no script.
		var sc scriptCounter
		tb.redis.Client.AddHook(&sc)
		if err := tb.store.FlushIndexesPaced(ctx); err != nil {
			t.Fatal(err)
		}
		if n := sc.n.Load(); n != 0 {
			t.Fatalf("a flush of empty queues sent %d scripts, want none", n)
		}
	})
}

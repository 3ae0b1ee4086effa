package runstore

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/sundial-dev/sundial/internal/testredis"
)

// TestPipelineRecoversFromNoScript: a pipeline sent to a Redis that lost
// its scripts (restarted, or SCRIPT FLUSH) still applies every call, each
// with its own answer. On miniredis, so that flushing scripts touches no
// one else's.
func TestPipelineRecoversFromNoScript(t *testing.T) {
	t.Parallel()
	b := testredis.Mini(t)
	tb := setup(t, b)
	ctx := context.Background()
	for i := range 3 {
		if _, err := tb.store.Start(ctx, tb.req(fmt.Sprint("ns-", i))); err != nil {
			t.Fatal(err)
		}
	}
	tasks := tb.claimAll(t, 3)
	if len(tasks) != 3 {
		t.Fatalf("claimed %d tasks, want 3", len(tasks))
	}
	if err := b.Client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	cs := []Completion{{Ref: refOf(tasks[0])}, {Ref: refOf(tasks[1])}, {Ref: refOf(tasks[0])}}
	errs := tb.store.CompleteMany(ctx, cs)
	if errs[0] != nil || errs[1] != nil {
		t.Errorf("completions after SCRIPT FLUSH: %v", errs)
	}
	if !isFailedPrecondition(errs[2]) {
		t.Errorf("second completion of one attempt: %v, want FailedPrecondition", errs[2])
	}
}

// TestConcurrentCallsShareRoundTrips: calls made at once from many
// goroutines all get their own answers, whatever pipelines they rode on
// (TestMain's goleak checks that the flushers end).
func TestConcurrentCallsShareRoundTrips(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		const n = 200
		var wg sync.WaitGroup
		rids := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				res, err := tb.store.Start(ctx, tb.req(fmt.Sprint("cc-", i)))
				rids[i], errs[i] = res.RunID, err
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("start %d: %v", i, errs[i])
			}
			r, err := tb.store.Get(ctx, tb.ns, fmt.Sprint("cc-", i), "")
			if err != nil || r.RunID != rids[i] {
				t.Fatalf("run of cc-%d: %v, %v; want run id %s", i, r, err, rids[i])
			}
			seen[rids[i]] = true
		}
		if len(seen) != n {
			t.Errorf("%d distinct run ids, want %d", len(seen), n)
		}
	})
}

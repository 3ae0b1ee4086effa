package runstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/clock"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// setupRetention is setup with a retention of its own.
func setupRetention(t *testing.T, b *testredis.Bundle, retention time.Duration) *testBundle {
	t.Helper()
	fc := clock.NewFake(epoch)
	st, err := New(Options{Client: b.Client, Prefix: b.Prefix, Clock: fc, Partitions: 4, Retention: retention})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{store: st, clock: fc, ns: b.Namespace, redis: b}
}

// fireDue fires every due timer entry, as one timer pass does.
func (tb *testBundle) fireDue(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	ts, err := tb.store.ClaimDue(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range ts {
		if err := tb.store.Fire(ctx, tm); err != nil {
			t.Fatalf("fire %s: %v", tm.Member, err)
		}
	}
}

// listIDs lists the namespace's runs (no filter, or status st) as
// "wf/rid" strings.
func (tb *testBundle) listIDs(t *testing.T, st runs.Status) []string {
	t.Helper()
	rs, _, err := tb.store.List(context.Background(), ListQuery{Namespace: tb.ns, Status: st, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.WorkflowID+"/"+r.RunID)
	}
	return out
}

// completeOne claims the run of workflow id wf and completes it.
func (tb *testBundle) completeOne(t *testing.T, wf string) {
	t.Helper()
	ts := tb.claimAll(t, 1)
	if len(ts) != 1 || ts[0].WorkflowID != wf {
		t.Fatalf("claimed %v, want the run of %s", ts, wf)
	}
	if err := tb.store.Complete(context.Background(), refOf(ts[0]), []byte(`"ok"`)); err != nil {
		t.Fatal(err)
	}
}

// TestClosedRunsExpireAfterRetention: a closed run, its index entries and
// its workflow id's pointer are deleted once the retention has passed on
// the injected clock, not before; open runs and a workflow id's newer run
// stay. The run hash carries a Redis TTL as a backstop.
func TestClosedRunsExpireAfterRetention(t *testing.T) {
	t.Parallel()
	for _, be := range testredis.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			const retention = time.Hour
			tb := setupRetention(t, be.New(t), retention)
			ctx := context.Background()

			// "old" closes now; "reused" closes now and is started again
			// (its new run stays open); "open" never closes.
			for _, wf := range []string{"old", "reused"} {
				if _, err := tb.store.Start(ctx, tb.req(wf)); err != nil {
					t.Fatal(err)
				}
				tb.completeOne(t, wf)
			}
			reusedFirst, err := tb.store.Get(ctx, tb.ns, "reused", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tb.store.Start(ctx, tb.req("reused")); err != nil {
				t.Fatal(err)
			}
			openRes, err := tb.store.Start(ctx, runs.StartRequest{Namespace: tb.ns, WorkflowID: "open", WorkflowType: "T", TaskQueue: "other"})
			if err != nil {
				t.Fatal(err)
			}
			old, err := tb.store.Get(ctx, tb.ns, "old", "")
			if err != nil {
				t.Fatal(err)
			}
			p := tb.store.k.partition(tb.ns, "old")
			ttl, err := tb.redis.Client.PTTL(ctx, tb.store.k.run(p, tb.ns, "old", old.RunID)).Result()
			if err != nil {
				t.Fatal(err)
			}
			if ttl <= retention || ttl > retention+25*time.Hour {
				t.Errorf("closed run's TTL = %s, want retention plus a day", ttl)
			}
			if got := tb.listIDs(t, runs.StatusUnspecified); len(got) != 4 {
				t.Fatalf("listed %v before the retention, want 4 runs", got)
			}

			tb.clock.Advance(retention - time.Millisecond)
			tb.fireDue(t)
			if _, err := tb.store.Get(ctx, tb.ns, "old", old.RunID); err != nil {
				t.Fatalf("run deleted before its retention: %v", err)
			}

			tb.clock.Advance(time.Millisecond)
			tb.fireDue(t)
			for _, c := range []struct{ wf, rid string }{{"old", old.RunID}, {"old", ""}, {"reused", reusedFirst.RunID}} {
				if _, err := tb.store.Get(ctx, tb.ns, c.wf, c.rid); !errors.Is(err, runs.ErrNotFound) {
					t.Errorf("Get(%s, %q) after the retention: %v, want ErrNotFound", c.wf, c.rid, err)
				}
			}
			if r, err := tb.store.Get(ctx, tb.ns, "reused", ""); err != nil || r.Status != runs.StatusPending {
				t.Errorf("the reused id's open run: %v, %v; want it PENDING", r, err)
			}
			if r, err := tb.store.Get(ctx, tb.ns, "open", openRes.RunID); err != nil || r.Status.Closed() {
				t.Errorf("open run: %v, %v; want it kept", r, err)
			}
			if got := tb.listIDs(t, runs.StatusUnspecified); len(got) != 2 {
				t.Errorf("listed %v after the retention, want the 2 open runs", got)
			}
			if got := tb.listIDs(t, runs.StatusCompleted); len(got) != 0 {
				t.Errorf("listed COMPLETED %v after the retention, want none", got)
			}
			// Left: the reused id's open run (type T, queue q) and "open"
			// (type T, queue other).
			for kind, want := range map[string]int64{"st:4": 0, "type:T": 2, "q:q": 1, "open": 2} {
				var n int64
				for p := range tb.store.Partitions() {
					c, err := tb.redis.Client.ZCard(ctx, tb.store.k.index(p, tb.ns, kind)).Result()
					if err != nil {
						t.Fatal(err)
					}
					n += c
				}
				if n != want {
					t.Errorf("index %s holds %d entries after the retention, want %d", kind, n, want)
				}
			}
			// The id of a deleted run may be started again.
			if _, err := tb.store.Start(ctx, runs.StartRequest{Namespace: tb.ns, WorkflowID: "old", WorkflowType: "T", TaskQueue: "q", IDReusePolicy: runs.IDReuseRejectDuplicate}); err != nil {
				t.Errorf("start a deleted run's id again: %v", err)
			}
		})
	}
}

// TestNegativeRetentionKeepsClosedRuns: Retention < 0 sets no TTL and no gc
// timer.
func TestNegativeRetentionKeepsClosedRuns(t *testing.T) {
	t.Parallel()
	tb := setupRetention(t, testredis.New(t), -1)
	ctx := context.Background()
	if _, err := tb.store.Start(ctx, tb.req("keep")); err != nil {
		t.Fatal(err)
	}
	tb.completeOne(t, "keep")
	r, err := tb.store.Get(ctx, tb.ns, "keep", "")
	if err != nil {
		t.Fatal(err)
	}
	tb.clock.Advance(365 * 24 * time.Hour)
	tb.fireDue(t)
	if _, err := tb.store.Get(ctx, tb.ns, "keep", r.RunID); err != nil {
		t.Errorf("run deleted without a retention: %v", err)
	}
	p := tb.store.k.partition(tb.ns, "keep")
	if ttl, err := tb.redis.Client.PTTL(ctx, tb.store.k.run(p, tb.ns, "keep", r.RunID)).Result(); err != nil || ttl >= 0 {
		t.Errorf("TTL = %s, %v; want none", ttl, err)
	}
}

// TestClosingAPendingRunRemovesItsQueueEntry: every queue entry is a
// PENDING run, so that a non-empty partition always has work (enqueues
// into a non-empty partition publish nothing).
func TestClosingAPendingRunRemovesItsQueueEntry(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		total := func() int64 {
			t.Helper()
			lens, err := tb.store.QueueLengths(ctx, tb.ns, "q")
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, l := range lens {
				n += l
			}
			return n
		}
		for _, wf := range []string{"c", "t", "keep"} {
			if _, err := tb.store.Start(ctx, tb.req(wf)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tb.store.Cancel(ctx, tb.ns, "c", "", "no"); err != nil {
			t.Fatal(err)
		}
		if err := tb.store.Terminate(ctx, tb.ns, "t", "", "no"); err != nil {
			t.Fatal(err)
		}
		if n := total(); n != 1 {
			t.Fatalf("%d queue entries after closing two of three pending runs, want 1", n)
		}
		if ts := tb.claimAll(t, 3); len(ts) != 1 || ts[0].WorkflowID != "keep" {
			t.Fatalf("claimed %v, want only keep", ts)
		}
	})
}

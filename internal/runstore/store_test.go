package runstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sundial-dev/sundial/internal/clock"
	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/testredis"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type testBundle struct {
	store *Store
	clock *clock.Fake
	ns    string
	redis *testredis.Bundle
}

func setup(t testing.TB, b *testredis.Bundle) *testBundle {
	t.Helper()
	if b == nil {
		b = testredis.New(t)
	}
	fc := clock.NewFake(epoch)
	st, err := New(Options{Client: b.Client, Prefix: b.Prefix, Clock: fc, Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{store: st, clock: fc, ns: b.Namespace, redis: b}
}

func forEachBackend(t *testing.T, f func(t *testing.T, tb *testBundle)) {
	t.Helper()
	for _, be := range testredis.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			f(t, setup(t, be.New(t)))
		})
	}
}

func (tb *testBundle) req(wf string) runs.StartRequest {
	return runs.StartRequest{Namespace: tb.ns, WorkflowID: wf, WorkflowType: "T", TaskQueue: "q"}
}

// claimAll claims from every partition of queue q until n tasks or none left.
func (tb *testBundle) claimAll(t testing.TB, n int) []Task {
	t.Helper()
	var out []Task
	for p := range tb.store.Partitions() {
		ts, err := tb.store.Claim(context.Background(), tb.ns, "q", p, n-len(out), "w")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ts...)
		if len(out) == n {
			break
		}
	}
	return out
}

// TestConcurrentClaimsDeliverOnce: pollers racing over the same queue never
// get the same run.
func TestConcurrentClaimsDeliverOnce(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		const runsN, pollers = 200, 8
		for i := range runsN {
			if _, err := tb.store.Start(ctx, tb.req(fmt.Sprintf("wf-%d", i))); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range pollers {
			wg.Go(func() {
				for {
					got := 0
					for p := range tb.store.Partitions() {
						ts, err := tb.store.Claim(ctx, tb.ns, "q", p, 3, "w")
						if err != nil {
							t.Error(err)
							return
						}
						got += len(ts)
						mu.Lock()
						for _, task := range ts {
							seen[task.WorkflowID]++
						}
						mu.Unlock()
					}
					if got == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		if len(seen) != runsN {
			t.Fatalf("delivered %d distinct runs, want %d", len(seen), runsN)
		}
		for wf, n := range seen {
			if n != 1 {
				t.Fatalf("%s delivered %d times", wf, n)
			}
		}
	})
}

// TestTimersClaimedOnceAcrossReplicas: two replicas' timer passes racing
// over the same due entries handle each exactly once.
func TestTimersClaimedOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		other, err := New(Options{Client: tb.redis.Client, Prefix: tb.redis.Prefix, Clock: tb.clock, Partitions: 4})
		if err != nil {
			t.Fatal(err)
		}
		const n = 120
		for i := range n {
			r := tb.req(fmt.Sprintf("d-%d", i))
			r.StartDelay = time.Minute
			if _, err := tb.store.Start(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		tb.clock.Advance(time.Minute)
		var mu sync.Mutex
		fired := map[string]int{}
		var wg sync.WaitGroup
		for _, st := range []*Store{tb.store, other} {
			wg.Go(func() {
				for {
					due, err := st.ClaimDue(ctx, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(due) == 0 {
						return
					}
					for _, tm := range due {
						mu.Lock()
						fired[tm.Member]++
						mu.Unlock()
						if err := st.Fire(ctx, tm); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		wg.Wait()
		if len(fired) != n {
			t.Fatalf("fired %d timers, want %d", len(fired), n)
		}
		for m, c := range fired {
			if c != 1 {
				t.Fatalf("%s fired %d times", m, c)
			}
		}
		if got := len(tb.claimAll(t, 2*n)); got != n {
			t.Fatalf("%d runs deliverable after the timers, want %d", got, n)
		}
	})
}

func TestStaleTimerDoesNotActOnNewAttempt(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		r := tb.req("hb")
		r.HeartbeatTimeout = 10 * time.Second
		if _, err := tb.store.Start(ctx, r); err != nil {
			t.Fatal(err)
		}
		first := tb.claimAll(t, 1)[0]
		tb.clock.Advance(10 * time.Second)
		due, err := tb.store.ClaimDue(ctx, 10)
		if err != nil || len(due) != 1 || due[0].Kind != "lease" {
			t.Fatalf("ClaimDue = %v, %v; want the lease", due, err)
		}
		// The worker heartbeats after the timer was claimed but before it
		// fired: the lease holds.
		if _, err := tb.store.Heartbeat(ctx, refOf(first)); err != nil {
			t.Fatal(err)
		}
		if err := tb.store.Fire(ctx, due[0]); err != nil {
			t.Fatal(err)
		}
		got, err := tb.store.Get(ctx, tb.ns, "hb", "")
		if err != nil || got.Status != runs.StatusRunning || got.Attempt != 1 {
			t.Fatalf("run = %+v, %v; want RUNNING attempt 1", got, err)
		}
		// Firing the same entry again (a replica that stalled) is harmless.
		if err := tb.store.Fire(ctx, due[0]); err != nil {
			t.Fatal(err)
		}
		if err := tb.store.Complete(ctx, refOf(first), []byte(`1`)); err != nil {
			t.Fatalf("Complete: %v", err)
		}
	})
}

func refOf(t Task) TaskRef {
	return TaskRef{Namespace: t.Namespace, WorkflowID: t.WorkflowID, RunID: t.RunID, Attempt: t.Attempt}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		initial, maxI time.Duration
		coeff         float64
		n             int
		want          time.Duration
	}{
		{"defaults first", 0, 0, 0, 1, time.Second},
		{"defaults third", 0, 0, 0, 3, 4 * time.Second},
		{"capped by default max", time.Second, 0, 2, 20, 100 * time.Second},
		{"capped by max", time.Second, 5 * time.Second, 3, 3, 5 * time.Second},
		{"coefficient one", 2 * time.Second, 0, 1, 7, 2 * time.Second},
		{"huge n", time.Second, time.Hour, 2, 5000, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Backoff(tt.initial, tt.coeff, tt.maxI, tt.n); got != tt.want {
				t.Fatalf("Backoff = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	ref := TaskRef{Namespace: "ns", WorkflowID: "a:b+c", RunID: "01J", Attempt: 7}
	got, err := ParseToken(ref.Token())
	if err != nil || got != ref {
		t.Fatalf("ParseToken(Token()) = %+v, %v; want %+v", got, err, ref)
	}
	for _, bad := range []string{"", "%%%", TaskRef{Namespace: "ns", WorkflowID: "w", RunID: "r"}.Token()} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(TaskRef{Namespace: "ns", WorkflowID: "w", RunID: "r", Attempt: 1}.Token())
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		ref, err := ParseToken(tok)
		if err != nil {
			return
		}
		again, err := ParseToken(ref.Token())
		if err != nil || again != ref {
			t.Fatalf("re-encoded token parses as %+v, %v; want %+v", again, err, ref)
		}
	})
}

// TestRequestIDsDoNotCollideAcrossWorkflowIDs: request ids are scoped to
// their workflow id even when the two concatenate to the same string.
func TestRequestIDsDoNotCollideAcrossWorkflowIDs(t *testing.T) {
	t.Parallel()
	b := testredis.New(t)
	st, err := New(Options{Client: b.Client, Prefix: b.Prefix, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := runs.StartRequest{Namespace: b.Namespace, WorkflowID: "a", WorkflowType: "T", TaskQueue: "q", RequestID: "b:c"}
	c := runs.StartRequest{Namespace: b.Namespace, WorkflowID: "a:b", WorkflowType: "T", TaskQueue: "q", RequestID: "c"}
	ra, err := st.Start(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := st.Start(ctx, c)
	if err != nil || rc.Existing || rc.RunID == ra.RunID {
		t.Fatalf("second start = %+v, %v; want a new run", rc, err)
	}
	again, err := st.Start(ctx, a)
	if err != nil || !again.Existing || again.RunID != ra.RunID {
		t.Fatalf("retried start = %+v, %v; want run %s", again, err, ra.RunID)
	}
}

func TestCancelTerminateClosedRun(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		res, err := tb.store.Start(ctx, tb.req("done"))
		if err != nil {
			t.Fatal(err)
		}
		if err := tb.store.Terminate(ctx, tb.ns, "done", res.RunID, "first"); err != nil {
			t.Fatal(err)
		}
		for name, f := range map[string]func(context.Context, string, string, string, string) error{"Cancel": tb.store.Cancel, "Terminate": tb.store.Terminate} {
			err := f(ctx, tb.ns, "done", res.RunID, "again")
			if !errors.Is(err, runs.ErrAlreadyClosed) || !errors.Is(err, errs.ErrFailedPrecondition) {
				t.Errorf("%s of a closed run = %v, want ErrAlreadyClosed and ErrFailedPrecondition", name, err)
			}
		}
		if err := tb.store.Cancel(ctx, tb.ns, "nope", "", ""); !errors.Is(err, runs.ErrNotFound) {
			t.Errorf("Cancel of a missing workflow = %v, want ErrNotFound", err)
		}
	})
}

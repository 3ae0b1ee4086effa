package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/clock"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// dyingStarter is the real starter of a replica that dies right after a
// start: the run is written, the reply is lost.
type dyingStarter struct{ validatingStarter }

func (d dyingStarter) Start(ctx context.Context, req runs.StartRequest) (runs.StartResult, error) {
	if _, err := d.validatingStarter.Start(ctx, req); err != nil {
		return runs.StartResult{}, err
	}
	return runs.StartResult{}, errors.New("replica died after the start")
}

// TestSchedulePreparedRunsSurviveCrashes runs two scheduler replicas on
// the real run store. Replica A claims the fire of 12:01 ahead, which
// prepares its run, and dies before the due time; replica B takes the
// fire over after the claim lease and starts it. Then A claims the fire
// of 12:02 ahead and dies after its start, before the commit; B takes it
// over too. Each fire has exactly one run, A's unused prepared run is
// never visible, and the one of a taken workflow id is gone.
func TestSchedulePreparedRunsSurviveCrashes(t *testing.T) {
	t.Parallel()
	for _, be := range testredis.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			rb := be.New(t)
			ctx := context.Background()
			clk := clock.NewFake(t0)
			rc, err := newRunsComponent(schedConfig(rb, clk, "runs"))
			if err != nil {
				t.Fatal(err)
			}
			real := rc.starter().(validatingStarter)
			a := schedSetupWith(t, rb, clk, real, "a").comp
			b := schedSetupWith(t, rb, clk, real, "b")
			bComp := b.comp
			b.create(t, "c", basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL)))
			runHashes := func() int {
				t.Helper()
				keys, err := rb.Client.Keys(ctx, rb.Prefix+":{runs:*}:run:*").Result()
				if err != nil {
					t.Fatal(err)
				}
				return len(keys)
			}
			claimAhead := func(s *scheduler, due time.Time) []claimedFire {
				t.Helper()
				clk.Set(due.Add(-200 * time.Millisecond))
				out := claimAheadAndPrepare(t, s)
				if len(out) != 1 || out[0].prep == nil {
					t.Fatalf("claimed %d fires ahead (%+v), want one with a prepared run", len(out), out)
				}
				return out
			}
			wantOneRun := func(wf string) string {
				t.Helper()
				r, err := rc.store.Get(ctx, rb.Namespace, wf, "")
				if err != nil {
					t.Fatalf("run of %s: %v", wf, err)
				}
				if r.Origin.ScheduleID != "c" || r.Status != runs.StatusPending {
					t.Fatalf("run of %s: %+v", wf, r)
				}
				return r.RunID
			}

			// A prepares the fire of 12:01 and dies before its due time.
			due1 := t0.Add(time.Minute)
			claimAhead(a.sched, due1)
			if _, err := rc.store.Get(ctx, rb.Namespace, wfAt("c", time.Minute), ""); !errors.Is(err, runs.ErrNotFound) {
				t.Fatalf("the prepared run is visible before its fire: %v", err)
			}
			if n := runHashes(); n != 1 {
				t.Fatalf("%d run hashes after the prepare, want 1", n)
			}
			clk.Set(due1.Add(claimLease + time.Second))
			if _, err := bComp.tick(ctx); err != nil {
				t.Fatal(err)
			}
			wantOneRun(wfAt("c", time.Minute))

			// A prepares the fire of 12:02, starts it and dies before the commit.
			due2 := t0.Add(2 * time.Minute)
			fires := claimAhead(a.sched, due2)
			clk.Set(due2)
			a.sched.starter = dyingStarter{real}
			if err := a.sched.fireBatch(ctx, fires); err == nil {
				t.Fatal("the dying replica's fire did not fail")
			}
			first := wantOneRun(wfAt("c", 2*time.Minute))
			if first != fires[0].prep.runID {
				t.Fatalf("run %s, want the prepared run %s", first, fires[0].prep.runID)
			}
			clk.Set(due2.Add(claimLease + time.Second))
			if _, err := bComp.tick(ctx); err != nil {
				t.Fatal(err)
			}
			if again := wantOneRun(wfAt("c", 2*time.Minute)); again != first {
				t.Fatalf("the fire taken over started run %s, want the first one %s", again, first)
			}
			// Runs of 12:01 and 12:02, plus A's unused prepared run of 12:01,
			// which expires on its own.
			if n := runHashes(); n != 3 {
				t.Fatalf("%d run hashes, want 3", n)
			}
			execs := b.executions(t, "c", pb.ExecutionOutcome_EXECUTION_OUTCOME_STARTED)
			if len(execs) != 2 {
				t.Fatalf("%d STARTED records, want 2", len(execs))
			}
		})
	}
}

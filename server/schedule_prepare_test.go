package server

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/clock"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// preparingStarter is a fakeStarter that also prepares runs (runs.Preparer):
// it records what it prepared and discarded, and which prepared run ids
// reached Start.
type preparingStarter struct {
	*fakeStarter
	pmu       sync.Mutex
	prepared  []string // workflow ids
	discarded []string // workflow ids
	used      []string // PreparedRunIDs that reached Start
}

func (p *preparingStarter) Prepare(_ context.Context, reqs []runs.StartRequest) ([]string, error) {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	ids := make([]string, len(reqs))
	for i, r := range reqs {
		p.prepared = append(p.prepared, r.WorkflowID)
		ids[i] = "prep-" + r.WorkflowID
	}
	return ids, nil
}

func (p *preparingStarter) Discard(_ context.Context, reqs []runs.StartRequest) error {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	for _, r := range reqs {
		if r.PreparedRunID != "prep-"+r.WorkflowID {
			panic("discarded a run id it did not prepare: " + r.PreparedRunID)
		}
		p.discarded = append(p.discarded, r.WorkflowID)
	}
	return nil
}

func (p *preparingStarter) Start(ctx context.Context, req runs.StartRequest) (runs.StartResult, error) {
	if req.PreparedRunID != "" {
		p.pmu.Lock()
		p.used = append(p.used, req.PreparedRunID)
		p.pmu.Unlock()
	}
	return p.fakeStarter.Start(ctx, req)
}

// TestScheduleFiresClaimedAheadUsePreparedRuns: fires claimed ahead of
// their due time get their runs prepared; at the due time a fire that
// starts uses its prepared run, and one that does not (overlap SKIP with
// its run open) discards it. A paused schedule is not claimed, so it
// prepares nothing.
func TestScheduleFiresClaimedAheadUsePreparedRuns(t *testing.T) {
	t.Parallel()
	for _, be := range testredis.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			st := &preparingStarter{fakeStarter: newFakeStarter()}
			clk := clock.NewFake(t0)
			b := schedSetupWith(t, be.New(t), clk, st, "r1")
			b.starter = st.fakeStarter
			comp := b.comp
			b.create(t, "go", basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL)))
			b.create(t, "skip", basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_SKIP)))
			b.create(t, "paused", basicSchedule(func(s *pb.Schedule) { s.State = &pb.ScheduleState{Paused: true} }))
			b.advance(t, time.Minute) // first fires; "skip"'s run stays open
			if want := []string{wfAt("go", time.Minute), wfAt("skip", time.Minute)}; !sameSet(st.started(), want) {
				t.Fatalf("started %v, want %v", st.started(), want)
			}

			// Claim the next fires 200ms ahead and prepare them, as the loop does.
			ctx := context.Background()
			clk.Set(t0.Add(2*time.Minute - 200*time.Millisecond))
			fires := claimAheadAndPrepare(t, comp.sched)
			if want := []string{wfAt("go", 2*time.Minute), wfAt("skip", 2*time.Minute)}; !sameSet(st.prepared, want) {
				t.Fatalf("prepared %v, want %v", st.prepared, want)
			}
			clk.Set(t0.Add(2 * time.Minute))
			if err := comp.sched.fireBatch(ctx, fires); err != nil {
				t.Fatal(err)
			}
			if want := []string{wfAt("go", time.Minute), wfAt("skip", time.Minute), wfAt("go", 2*time.Minute)}; !sameSet(st.started(), want) {
				t.Fatalf("started %v, want %v", st.started(), want)
			}
			if want := []string{"prep-" + wfAt("go", 2*time.Minute)}; !slices.Equal(st.used, want) {
				t.Fatalf("prepared runs started %v, want %v", st.used, want)
			}
			if want := []string{wfAt("skip", 2*time.Minute)}; !slices.Equal(st.discarded, want) {
				t.Fatalf("discarded %v, want %v", st.discarded, want)
			}
			if n := len(b.executions(t, "skip", pb.ExecutionOutcome_EXECUTION_OUTCOME_SKIPPED_OVERLAP)); n != 1 {
				t.Fatalf("%d SKIPPED_OVERLAP records for skip, want 1", n)
			}
		})
	}
}

// claimAheadAndPrepare claims, in every partition, the fires due within
// claimAhead of the clock and prepares their runs, as one pass of the
// loop does before it waits for their time.
func claimAheadAndPrepare(t *testing.T, s *scheduler) []claimedFire {
	t.Helper()
	ctx := context.Background()
	now := s.clock.Now()
	var fires []claimedFire
	for p := range s.store.Partitions() {
		got, err := s.claimPartition(ctx, p, now, now.Add(claimAhead))
		if err != nil {
			t.Fatal(err)
		}
		fires = append(fires, got...)
	}
	s.prepare(ctx, fires, now)
	return fires
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

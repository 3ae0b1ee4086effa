package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
)

// TestScheduleUpdateRenamingClaimedFireThenCrash: a replica claims a fire,
// starts its run and dies before committing; an update then changes the
// action's base workflow id. When the claim lease ends the fire is processed
// again under the id the claimer used, so its run is found, not started a
// second time under the new name; later fires use the new name.
func TestScheduleUpdateRenamingClaimedFireThenCrash(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		ctx := context.Background()
		allow := overlap(pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL)
		b.create(t, "rn", basicSchedule(allow))
		b.starter.failAfterStart = func(string) error { return errors.New("replica died after the start") }
		b.clock.Advance(time.Minute)
		if _, err := b.comp.tick(ctx); err == nil {
			t.Fatal("tick should report the failed fire")
		}
		b.starter.failAfterStart = nil

		b.clock.Advance(10 * time.Second)
		renamed := basicSchedule(allow, func(s *pb.Schedule) { s.Action.WorkflowId = "renamed" })
		if _, err := b.h.UpdateSchedule(ctx, connect.NewRequest(&pb.UpdateScheduleRequest{Namespace: b.ns, ScheduleId: "rn", Schedule: renamed})); err != nil {
			t.Fatal(err)
		}

		b.advance(t, claimLease)
		wantStarted(t, b, wfAt("rn", time.Minute))
		if b.starter.existing != 1 {
			t.Fatalf("the re-fire found %d existing runs, want 1 (the run the dead claimer started)", b.starter.existing)
		}
		b.advance(t, 20*time.Second) // t0+2m: the renamed schedule goes on
		wantStarted(t, b, wfAt("rn", time.Minute), wfAt("renamed", 2*time.Minute))
	})
}

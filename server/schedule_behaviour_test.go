package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/runs"
)

func wantStarted(t *testing.T, b *schedBundle, want ...string) {
	t.Helper()
	if got := b.starter.started(); !slices.Equal(got, want) {
		t.Fatalf("started %q, want %q", got, want)
	}
}

func overlap(p pb.OverlapPolicy) func(*pb.Schedule) {
	return func(s *pb.Schedule) {
		if s.Policy == nil {
			s.Policy = &pb.SchedulePolicy{}
		}
		s.Policy.Overlap = p
	}
}

func TestScheduleCRUD(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		ctx := context.Background()
		tok := b.create(t, "s1", basicSchedule(func(s *pb.Schedule) { s.Tags = map[string]string{"team": "a"} }))
		d := b.describe(t, "s1")
		if d.GetConflictToken() != tok || tok == "" {
			t.Fatalf("token %q, describe says %q", tok, d.GetConflictToken())
		}
		ft := d.GetInfo().GetFutureActionTimes()
		if len(ft) != 10 || !ft[0].AsTime().Equal(t0.Add(time.Minute)) || !ft[9].AsTime().Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("future times %v", ft)
		}
		if !d.GetInfo().GetCreateTime().AsTime().Equal(t0) || d.GetSchedule().GetAction().GetWorkflowType() != "wf" {
			t.Fatalf("describe = %v", d)
		}
		_, err := b.h.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: b.ns, ScheduleId: "s1", Schedule: basicSchedule()}))
		if connect.CodeOf(err) != connect.CodeAlreadyExists {
			t.Fatalf("duplicate create: %v", err)
		}
		// A retried create with the same request id succeeds.
		r1, err := b.h.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: b.ns, ScheduleId: "s2", Schedule: basicSchedule(), RequestId: "req-1"}))
		if err != nil {
			t.Fatal(err)
		}
		r2, err := b.h.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: b.ns, ScheduleId: "s2", Schedule: basicSchedule(), RequestId: "req-1"}))
		if err != nil || r2.Msg.GetConflictToken() != r1.Msg.GetConflictToken() {
			t.Fatalf("retried create: %v %v", r2, err)
		}
		// Strongly consistent list, filtered by tag.
		l, err := b.h.ListSchedules(ctx, connect.NewRequest(&pb.ListSchedulesRequest{Namespace: b.ns, Tags: map[string]string{"team": "a"}}))
		if err != nil || len(l.Msg.GetSchedules()) != 1 || l.Msg.GetSchedules()[0].GetScheduleId() != "s1" {
			t.Fatalf("list: %v %v", l, err)
		}
		// Update with a stale token fails and changes nothing; with the current one it applies.
		b.clock.Advance(30 * time.Second)
		upd := basicSchedule(func(s *pb.Schedule) { s.Spec.CronExpressions = []string{"@every 1h"} })
		_, err = b.h.UpdateSchedule(ctx, connect.NewRequest(&pb.UpdateScheduleRequest{Namespace: b.ns, ScheduleId: "s1", Schedule: upd, ConflictToken: "stale"}))
		if connect.CodeOf(err) != connect.CodeFailedPrecondition {
			t.Fatalf("stale update: %v", err)
		}
		if b.describe(t, "s1").GetConflictToken() != tok {
			t.Fatal("a failed update changed the token")
		}
		u, err := b.h.UpdateSchedule(ctx, connect.NewRequest(&pb.UpdateScheduleRequest{Namespace: b.ns, ScheduleId: "s1", Schedule: upd, ConflictToken: tok}))
		if err != nil || u.Msg.GetConflictToken() == tok {
			t.Fatalf("update: %v %v", u, err)
		}
		d = b.describe(t, "s1")
		if got := d.GetInfo().GetFutureActionTimes()[0].AsTime(); !got.Equal(t0.Add(time.Hour)) {
			t.Fatalf("next after update = %v", got)
		}
		if d.GetSchedule().GetTags()["team"] != "" {
			t.Fatal("update did not replace tags")
		}
		if _, err := b.h.DeleteSchedule(ctx, connect.NewRequest(&pb.DeleteScheduleRequest{Namespace: b.ns, ScheduleId: "s1"})); err != nil {
			t.Fatal(err)
		}
		_, err = b.h.DescribeSchedule(ctx, connect.NewRequest(&pb.DescribeScheduleRequest{Namespace: b.ns, ScheduleId: "s1"}))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("describe deleted: %v", err)
		}
		b.advance(t, time.Hour)
		for _, wf := range b.starter.started() {
			if wf[:3] == "s1-" {
				t.Fatalf("deleted schedule fired %s", wf)
			}
		}
	})
}

func TestScheduleListPages(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		want := map[string]bool{}
		for i := range 25 {
			id := "p" + string(rune('a'+i))
			b.create(t, id, basicSchedule(func(s *pb.Schedule) {
				if i%2 == 0 {
					s.State = &pb.ScheduleState{Paused: true}
				}
			}))
			want[id] = true
		}
		got := map[string]bool{}
		tok := ""
		for pages := 0; ; pages++ {
			res, err := b.h.ListSchedules(context.Background(), connect.NewRequest(&pb.ListSchedulesRequest{Namespace: b.ns, PageSize: 4, PageToken: tok}))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range res.Msg.GetSchedules() {
				if got[e.GetScheduleId()] {
					t.Fatalf("%s listed twice", e.GetScheduleId())
				}
				got[e.GetScheduleId()] = true
			}
			if tok = res.Msg.GetNextPageToken(); tok == "" {
				break
			}
			if pages > 50 {
				t.Fatal("paging does not end")
			}
		}
		if len(got) != len(want) {
			t.Fatalf("listed %d schedules, want %d", len(got), len(want))
		}
		res, err := b.h.ListSchedules(context.Background(), connect.NewRequest(&pb.ListSchedulesRequest{Namespace: b.ns, Paused: pb.PausedFilter_PAUSED_FILTER_PAUSED, PageSize: 100}))
		if err != nil || len(res.Msg.GetSchedules()) != 13 {
			t.Fatalf("paused filter: %d %v", len(res.Msg.GetSchedules()), err)
		}
	})
}

func TestScheduleFiresOnTime(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "f", basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL)))
		b.advance(t, 59*time.Second)
		wantStarted(t, b)
		b.advance(t, time.Second)
		b.tick(t)
		wantStarted(t, b, wfAt("f", time.Minute))
		b.advance(t, time.Minute)
		wantStarted(t, b, wfAt("f", time.Minute), wfAt("f", 2*time.Minute))
		d := b.describe(t, "f")
		if d.GetInfo().GetActionCount() != 2 || len(d.GetInfo().GetRecentActions()) != 2 || len(d.GetInfo().GetRunningWorkflows()) != 2 {
			t.Fatalf("info %v", d.GetInfo())
		}
		if ra := d.GetInfo().GetRecentActions()[0]; ra.GetWorkflowId() != wfAt("f", 2*time.Minute) || ra.GetStatus() != pb.WorkflowStatus_WORKFLOW_STATUS_RUNNING {
			t.Fatalf("latest action %v", ra)
		}
		req := b.starter.runs[wfAt("f", time.Minute)].req
		if !req.IfNotExists || req.Origin.ScheduleID != "f" || !req.Origin.NominalTime.Equal(t0.Add(time.Minute)) || req.Origin.Trigger != runs.TriggerScheduled {
			t.Fatalf("start request %+v", req)
		}
	})
}

func TestScheduleOverlapSkip(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "s", basicSchedule())
		b.advance(t, time.Minute)
		b.advance(t, time.Minute)
		wantStarted(t, b, wfAt("s", time.Minute))
		if d := b.describe(t, "s"); d.GetInfo().GetOverlapSkipped() != 1 {
			t.Fatalf("overlap skipped = %d", d.GetInfo().GetOverlapSkipped())
		}
		b.closeRun(t, wfAt("s", time.Minute), runs.StatusCompleted)
		b.advance(t, time.Minute)
		wantStarted(t, b, wfAt("s", time.Minute), wfAt("s", 3*time.Minute))
		skips := b.executions(t, "s", pb.ExecutionOutcome_EXECUTION_OUTCOME_SKIPPED_OVERLAP)
		if len(skips) != 1 || !skips[0].GetNominalTime().AsTime().Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("skip records %v", skips)
		}
	})
}

func TestScheduleOverlapBufferOne(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "b1", basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_BUFFER_ONE)))
		for range 3 {
			b.advance(t, time.Minute)
		}
		wantStarted(t, b, wfAt("b1", time.Minute))
		d := b.describe(t, "b1")
		if d.GetInfo().GetBufferSize() != 1 || d.GetInfo().GetBufferDropped() != 1 {
			t.Fatalf("info %v", d.GetInfo())
		}
		b.closeRun(t, wfAt("b1", time.Minute), runs.StatusCompleted)
		wantStarted(t, b, wfAt("b1", time.Minute), wfAt("b1", 2*time.Minute))
		// A repeated Closed event changes nothing.
		if err := b.comp.closedHandler()(context.Background(), b.starter.close(wfAt("b1", time.Minute), runs.StatusCompleted)); err != nil {
			t.Fatal(err)
		}
		wantStarted(t, b, wfAt("b1", time.Minute), wfAt("b1", 2*time.Minute))
		if n := len(b.executions(t, "b1", pb.ExecutionOutcome_EXECUTION_OUTCOME_BUFFER_DROPPED)); n != 1 {
			t.Fatalf("dropped records = %d", n)
		}
	})
}

func TestScheduleOverlapBufferAll(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "ba", basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_BUFFER_ALL)))
		for range 3 {
			b.advance(t, time.Minute)
		}
		if d := b.describe(t, "ba"); d.GetInfo().GetBufferSize() != 2 {
			t.Fatalf("buffer size %d", d.GetInfo().GetBufferSize())
		}
		b.closeRun(t, wfAt("ba", time.Minute), runs.StatusCompleted)
		b.closeRun(t, wfAt("ba", 2*time.Minute), runs.StatusCompleted)
		wantStarted(t, b, wfAt("ba", time.Minute), wfAt("ba", 2*time.Minute), wfAt("ba", 3*time.Minute))
	})
}

func TestScheduleOverlapCancelOther(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "c", basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_CANCEL_OTHER)))
		b.advance(t, time.Minute)
		b.advance(t, time.Minute)
		if !slices.Equal(b.starter.canceled, []string{wfAt("c", time.Minute)}) {
			t.Fatalf("canceled %v", b.starter.canceled)
		}
		wantStarted(t, b, wfAt("c", time.Minute))
		b.closeRun(t, wfAt("c", time.Minute), runs.StatusCanceled)
		wantStarted(t, b, wfAt("c", time.Minute), wfAt("c", 2*time.Minute))
	})
}

func TestScheduleOverlapTerminateOther(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "t", basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_TERMINATE_OTHER)))
		b.advance(t, time.Minute)
		b.advance(t, time.Minute)
		wantStarted(t, b, wfAt("t", time.Minute), wfAt("t", 2*time.Minute))
		if st := b.starter.status(wfAt("t", time.Minute)); st != runs.StatusTerminated {
			t.Fatalf("first run %v", st)
		}
		if rw := b.describe(t, "t").GetInfo().GetRunningWorkflows(); len(rw) != 1 || rw[0].GetWorkflowId() != wfAt("t", 2*time.Minute) {
			t.Fatalf("running %v", rw)
		}
	})
}

// A run that closes between the overlap check and the cancel or terminate
// (the run store answers runs.ErrAlreadyClosed) is gone, as asked: the new
// fire starts at once, and the pass reports no error.
func TestScheduleOverlapOtherAlreadyClosed(t *testing.T) {
	t.Parallel()
	for _, p := range []pb.OverlapPolicy{pb.OverlapPolicy_OVERLAP_POLICY_CANCEL_OTHER, pb.OverlapPolicy_OVERLAP_POLICY_TERMINATE_OTHER} {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, b *schedBundle) {
				b.create(t, "ac", basicSchedule(overlap(p)))
				b.advance(t, time.Minute)
				b.starter.mu.Lock()
				b.starter.stopErr = fmt.Errorf("run closed meanwhile: %w", runs.ErrAlreadyClosed)
				b.starter.mu.Unlock()
				b.advance(t, time.Minute) // fails the test if the pass reports an error
				wantStarted(t, b, wfAt("ac", time.Minute), wfAt("ac", 2*time.Minute))
				if rw := b.describe(t, "ac").GetInfo().GetRunningWorkflows(); len(rw) != 1 || rw[0].GetWorkflowId() != wfAt("ac", 2*time.Minute) {
					t.Fatalf("running %v", rw)
				}
				if ex := b.executions(t, "ac", pb.ExecutionOutcome_EXECUTION_OUTCOME_STARTED); len(ex) != 2 {
					t.Fatalf("started records = %d, want 2", len(ex))
				}
			})
		})
	}
}

func TestScheduleOverlapAllowAll(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "a", basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL)))
		for range 3 {
			b.advance(t, time.Minute)
		}
		wantStarted(t, b, wfAt("a", time.Minute), wfAt("a", 2*time.Minute), wfAt("a", 3*time.Minute))
	})
}

func TestScheduleCatchupWindow(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "cw", basicSchedule(func(s *pb.Schedule) {
			s.Policy = &pb.SchedulePolicy{Overlap: pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL, CatchupWindow: durationpb.New(150 * time.Second)}
		}))
		// Down for 10 minutes: fires at 1..7 min are older than 150 s at 10:00.
		b.advance(t, 10*time.Minute)
		wantStarted(t, b, wfAt("cw", 8*time.Minute), wfAt("cw", 9*time.Minute), wfAt("cw", 10*time.Minute))
		if d := b.describe(t, "cw"); d.GetInfo().GetMissedCatchupWindow() != 7 {
			t.Fatalf("missed = %d", d.GetInfo().GetMissedCatchupWindow())
		}
		if n := len(b.executions(t, "cw", pb.ExecutionOutcome_EXECUTION_OUTCOME_MISSED)); n != 7 {
			t.Fatalf("missed records = %d", n)
		}
	})
}

func TestScheduleCoalesce(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "co", basicSchedule(func(s *pb.Schedule) {
			s.Policy = &pb.SchedulePolicy{Overlap: pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL, Coalesce: true}
		}))
		b.advance(t, 5*time.Minute)
		wantStarted(t, b, wfAt("co", 5*time.Minute))
		if n := len(b.executions(t, "co", pb.ExecutionOutcome_EXECUTION_OUTCOME_MISSED)); n != 4 {
			t.Fatalf("coalesced records = %d", n)
		}
	})
}

func TestSchedulePauseOnFailure(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "pf", basicSchedule(func(s *pb.Schedule) { s.Policy = &pb.SchedulePolicy{PauseOnFailure: true} }))
		b.advance(t, time.Minute)
		b.closeRun(t, wfAt("pf", time.Minute), runs.StatusFailed)
		d := b.describe(t, "pf")
		if !d.GetSchedule().GetState().GetPaused() || !contains(d.GetSchedule().GetState().GetNote(), wfAt("pf", time.Minute)) {
			t.Fatalf("state %v", d.GetSchedule().GetState())
		}
		if len(d.GetInfo().GetFutureActionTimes()) != 10 {
			t.Fatal("a paused schedule must still show its next times")
		}
		b.advance(t, 5*time.Minute)
		wantStarted(t, b, wfAt("pf", time.Minute))
		// Unpause: fires resume from now, without catching up the paused time.
		if _, err := b.h.UnpauseSchedule(context.Background(), connect.NewRequest(&pb.UnpauseScheduleRequest{Namespace: b.ns, ScheduleId: "pf", Note: "fixed"})); err != nil {
			t.Fatal(err)
		}
		b.advance(t, time.Minute)
		wantStarted(t, b, wfAt("pf", time.Minute), wfAt("pf", 7*time.Minute))
	})
}

func TestScheduleRemainingActions(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "ra", basicSchedule(func(s *pb.Schedule) {
			s.Policy = &pb.SchedulePolicy{Overlap: pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL}
			s.State = &pb.ScheduleState{LimitedActions: true, RemainingActions: 2}
		}))
		tr, err := b.h.TriggerSchedule(context.Background(), connect.NewRequest(&pb.TriggerScheduleRequest{Namespace: b.ns, ScheduleId: "ra"}))
		if err != nil || tr.Msg.GetOutcome() != pb.ExecutionOutcome_EXECUTION_OUTCOME_STARTED {
			t.Fatalf("trigger: %v %v", tr, err)
		}
		for range 4 {
			b.advance(t, time.Minute)
		}
		got := b.starter.started()
		if len(got) != 3 || got[1] != wfAt("ra", time.Minute) || got[2] != wfAt("ra", 2*time.Minute) {
			t.Fatalf("started %v", got)
		}
		d := b.describe(t, "ra")
		if d.GetSchedule().GetState().GetRemainingActions() != 0 || len(d.GetInfo().GetFutureActionTimes()) != 0 {
			t.Fatalf("state %v future %v", d.GetSchedule().GetState(), d.GetInfo().GetFutureActionTimes())
		}
	})
}

func TestScheduleJitter(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "j", basicSchedule(func(s *pb.Schedule) { s.Spec.Jitter = durationpb.New(50 * time.Second) }))
		at := b.describe(t, "j").GetInfo().GetFutureActionTimes()[0].AsTime()
		if at.Before(t0.Add(time.Minute)) || !at.Before(t0.Add(110*time.Second)) {
			t.Fatalf("jittered time %v outside [1m, 1m50s)", at)
		}
		b.clock.Set(at.Add(-time.Millisecond))
		b.tick(t)
		if at.After(t0.Add(time.Minute)) {
			wantStarted(t, b)
		}
		b.clock.Set(at)
		b.tick(t)
		wantStarted(t, b, wfAt("j", time.Minute))
		ex := b.executions(t, "j")
		if len(ex) != 1 || !ex[0].GetActualTime().AsTime().Equal(at.Truncate(time.Millisecond)) {
			t.Fatalf("records %v", ex)
		}
	})
}

func TestScheduleTriggerTwiceInOneSecond(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "tr", basicSchedule())
		for range 2 {
			_, err := b.h.TriggerSchedule(context.Background(), connect.NewRequest(&pb.TriggerScheduleRequest{Namespace: b.ns, ScheduleId: "tr", Overlap: pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL}))
			if err != nil {
				t.Fatal(err)
			}
		}
		got := b.starter.started()
		if len(got) != 2 || got[0] == got[1] {
			t.Fatalf("started %v", got)
		}
		// Without the override the schedule's SKIP applies.
		tr, err := b.h.TriggerSchedule(context.Background(), connect.NewRequest(&pb.TriggerScheduleRequest{Namespace: b.ns, ScheduleId: "tr"}))
		if err != nil || tr.Msg.GetOutcome() != pb.ExecutionOutcome_EXECUTION_OUTCOME_SKIPPED_OVERLAP {
			t.Fatalf("trigger: %v %v", tr, err)
		}
	})
}

func TestScheduleBackfill(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "bf", basicSchedule(func(s *pb.Schedule) { s.State = &pb.ScheduleState{Paused: true} }))
		rng := []*pb.BackfillRange{{StartTime: timestamppb.New(t0.Add(-5 * time.Minute)), EndTime: timestamppb.New(t0.Add(-time.Minute)), Overlap: pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL}}
		res, err := b.h.BackfillSchedule(context.Background(), connect.NewRequest(&pb.BackfillScheduleRequest{Namespace: b.ns, ScheduleId: "bf", Ranges: rng}))
		if err != nil || res.Msg.GetNominalTimes() != 5 {
			t.Fatalf("backfill: %v %v", res, err)
		}
		want := []string{wfAt("bf", -5*time.Minute), wfAt("bf", -4*time.Minute), wfAt("bf", -3*time.Minute), wfAt("bf", -2*time.Minute), wfAt("bf", -time.Minute)}
		wantStarted(t, b, want...)
		// Again: the deterministic ids find the runs; nothing new starts.
		if _, err := b.h.BackfillSchedule(context.Background(), connect.NewRequest(&pb.BackfillScheduleRequest{Namespace: b.ns, ScheduleId: "bf", Ranges: rng})); err != nil {
			t.Fatal(err)
		}
		wantStarted(t, b, want...)
		if d := b.describe(t, "bf"); !d.GetSchedule().GetState().GetPaused() {
			t.Fatal("backfill unpaused the schedule")
		}
	})
}

func TestScheduleExecutionsQuery(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "e1", basicSchedule())
		b.create(t, "e2", basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL)))
		for range 5 {
			b.advance(t, time.Minute)
		}
		// e1: 1 started + 4 skipped; e2: 5 started.
		var all []*pb.ScheduleExecution
		tok := ""
		for {
			res, err := b.h.ListScheduleExecutions(context.Background(), connect.NewRequest(&pb.ListScheduleExecutionsRequest{Namespace: b.ns, PageSize: 3, PageToken: tok}))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, res.Msg.GetExecutions()...)
			if tok = res.Msg.GetNextPageToken(); tok == "" {
				break
			}
		}
		if len(all) != 10 {
			t.Fatalf("%d records, want 10", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].GetNominalTime().AsTime().After(all[i-1].GetNominalTime().AsTime()) {
				t.Fatal("records are not newest first")
			}
		}
		res, err := b.h.ListScheduleExecutions(context.Background(), connect.NewRequest(&pb.ListScheduleExecutionsRequest{
			Namespace: b.ns, ScheduleId: "e1", Outcomes: []pb.ExecutionOutcome{pb.ExecutionOutcome_EXECUTION_OUTCOME_SKIPPED_OVERLAP},
			StartTime: timestamppb.New(t0.Add(3 * time.Minute)), EndTime: timestamppb.New(t0.Add(4 * time.Minute)),
		}))
		if err != nil || len(res.Msg.GetExecutions()) != 2 {
			t.Fatalf("filtered: %v %v", res, err)
		}
	})
}

func TestSchedulePauseAllByTag(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		for i, team := range []string{"x", "x", "y"} {
			b.create(t, "pa"+string(rune('0'+i)), basicSchedule(func(s *pb.Schedule) { s.Tags = map[string]string{"team": team} }))
		}
		res, err := b.h.PauseAllSchedules(context.Background(), connect.NewRequest(&pb.PauseAllSchedulesRequest{Namespace: b.ns, Tags: map[string]string{"team": "x"}, Note: "maint"}))
		if err != nil || res.Msg.GetCount() != 2 {
			t.Fatalf("pause all: %v %v", res, err)
		}
		b.advance(t, time.Minute)
		wantStarted(t, b, wfAt("pa2", time.Minute))
		rs, err := b.h.ResumeAllSchedules(context.Background(), connect.NewRequest(&pb.ResumeAllSchedulesRequest{Namespace: b.ns}))
		if err != nil || rs.Msg.GetCount() != 2 {
			t.Fatalf("resume all: %v %v", rs, err)
		}
		b.advance(t, time.Minute)
		if n := len(b.starter.started()); n != 3 {
			t.Fatalf("started %d after resume, want 3", n)
		}
	})
}

// A replica that dies after starting a run but before committing must not
// lose the fire nor double it: the claim expires, another pass re-fires,
// the deterministic id finds the run, and one record is written.
func TestScheduleCrashBetweenStartAndCommit(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "cr", basicSchedule())
		b.starter.failAfterStart = func(string) error { return errors.New("connection reset") }
		b.clock.Advance(time.Minute)
		if _, err := b.comp.tick(context.Background()); err == nil {
			t.Fatal("tick should report the failed fire")
		}
		b.starter.failAfterStart = nil
		b.tick(t) // the claim is still in flight: nothing happens
		if b.starter.existing != 0 {
			t.Fatal("an in-flight claim was taken before its lease ended")
		}
		b.advance(t, claimLease)
		wantStarted(t, b, wfAt("cr", time.Minute))
		if b.starter.existing != 1 {
			t.Fatalf("re-fire found %d existing runs, want 1", b.starter.existing)
		}
		if ex := b.executions(t, "cr", pb.ExecutionOutcome_EXECUTION_OUTCOME_STARTED); len(ex) != 1 {
			t.Fatalf("started records = %d", len(ex))
		}
	})
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

func TestScheduleRemainingActionsCountBufferedStarts(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "rb", basicSchedule(func(s *pb.Schedule) {
			s.Policy = &pb.SchedulePolicy{Overlap: pb.OverlapPolicy_OVERLAP_POLICY_BUFFER_ONE}
			s.State = &pb.ScheduleState{LimitedActions: true, RemainingActions: 2}
		}))
		b.advance(t, time.Minute)
		b.advance(t, time.Minute) // buffered behind the first run
		b.closeRun(t, wfAt("rb", time.Minute), runs.StatusCompleted)
		wantStarted(t, b, wfAt("rb", time.Minute), wfAt("rb", 2*time.Minute))
		if rem := b.describe(t, "rb").GetSchedule().GetState().GetRemainingActions(); rem != 0 {
			t.Fatalf("remaining = %d after two starts, want 0", rem)
		}
		b.closeRun(t, wfAt("rb", 2*time.Minute), runs.StatusCompleted)
		b.advance(t, 3*time.Minute)
		wantStarted(t, b, wfAt("rb", time.Minute), wfAt("rb", 2*time.Minute))
	})
}

func TestScheduleMatchingTimesAndTypeFilter(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		ctx := context.Background()
		b.create(t, "m1", basicSchedule())
		b.create(t, "m2", basicSchedule(func(s *pb.Schedule) { s.Action.WorkflowType = "other" }))
		res, err := b.h.ListScheduleMatchingTimes(ctx, connect.NewRequest(&pb.ListScheduleMatchingTimesRequest{Namespace: b.ns, ScheduleId: "m1", Limit: 3}))
		if err != nil || len(res.Msg.GetStartTimes()) != 3 || !res.Msg.GetStartTimes()[2].AsTime().Equal(t0.Add(3*time.Minute)) {
			t.Fatalf("matching times: %v %v", res, err)
		}
		res, err = b.h.ListScheduleMatchingTimes(ctx, connect.NewRequest(&pb.ListScheduleMatchingTimesRequest{Namespace: b.ns,
			Spec: &pb.ScheduleSpec{CronExpressions: []string{"0 0 * * *"}}, StartTime: timestamppb.New(t0), EndTime: timestamppb.New(t0.Add(72 * time.Hour)), Limit: 10}))
		if err != nil || len(res.Msg.GetStartTimes()) != 3 {
			t.Fatalf("inline spec: %v %v", res, err)
		}
		l, err := b.h.ListSchedules(ctx, connect.NewRequest(&pb.ListSchedulesRequest{Namespace: b.ns, WorkflowType: "other"}))
		if err != nil || len(l.Msg.GetSchedules()) != 1 || l.Msg.GetSchedules()[0].GetScheduleId() != "m2" {
			t.Fatalf("type filter: %v %v", l, err)
		}
		if e := l.Msg.GetSchedules()[0]; e.GetSpecSummary() == "" || !e.GetNextActionTime().AsTime().Equal(t0.Add(time.Minute)) {
			t.Fatalf("list entry %v", e)
		}
	})
}

func TestScheduleCatchupLongDowntimeInSteps(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *schedBundle) {
		b.create(t, "long", basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL)))
		b.advance(t, 250*time.Minute)
		if n := len(b.starter.started()); n != maxFiresPerClaim {
			t.Fatalf("first pass started %d, want %d (one claim's bound)", n, maxFiresPerClaim)
		}
		b.tick(t)
		b.tick(t)
		got := b.starter.started()
		if len(got) != 250 || got[249] != wfAt("long", 250*time.Minute) {
			t.Fatalf("after three passes started %d (last %s), want 250", len(got), got[len(got)-1])
		}
		if d := b.describe(t, "long"); !d.GetInfo().GetFutureActionTimes()[0].AsTime().Equal(t0.Add(251 * time.Minute)) {
			t.Fatalf("next after catchup %v", d.GetInfo().GetFutureActionTimes()[0].AsTime())
		}
	})
}

// An update that lands while a fire is claimed, followed by the claimer's
// death before its commit, does not lose that fire: the update keeps the
// claimed nominal time, and the replica that takes the expired claim over
// fires it (once, whether or not the dead claimer had started it) before
// going on from the updated next time.
func TestScheduleUpdateDuringClaimThenCrash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		started bool // the claimer started the run before dying
	}{{"died before the start", false}, {"died after the start", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, b *schedBundle) {
				ctx := context.Background()
				allow := overlap(pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL)
				b.create(t, "uc", basicSchedule(allow))
				crash := func(string) error { return errors.New("replica died") }
				if tc.started {
					b.starter.failAfterStart = crash
				} else {
					b.starter.failBefore = crash
				}
				b.clock.Advance(time.Minute)
				if _, err := b.comp.tick(ctx); err == nil {
					t.Fatal("tick should report the failed fire")
				}
				b.starter.failAfterStart, b.starter.failBefore = nil, nil
				// The update recomputes the next time from now (t0+1m10s).
				b.clock.Advance(10 * time.Second)
				upd := basicSchedule(allow, func(s *pb.Schedule) { s.Action.TaskQueue = "q2" })
				if _, err := b.h.UpdateSchedule(ctx, connect.NewRequest(&pb.UpdateScheduleRequest{Namespace: b.ns, ScheduleId: "uc", Schedule: upd})); err != nil {
					t.Fatal(err)
				}
				b.tick(t) // the claim is still in flight: nothing happens
				if n := len(b.starter.started()) + b.starter.existing; n != btoi(tc.started) {
					t.Fatalf("%d start calls before the lease ended", n)
				}
				b.advance(t, claimLease)
				wantStarted(t, b, wfAt("uc", time.Minute))
				if b.starter.existing != btoi(tc.started) {
					t.Fatalf("re-fire found %d existing runs, want %d", b.starter.existing, btoi(tc.started))
				}
				b.advance(t, 20*time.Second) // t0+2m: the updated schedule goes on
				wantStarted(t, b, wfAt("uc", time.Minute), wfAt("uc", 2*time.Minute))
				if ex := b.executions(t, "uc", pb.ExecutionOutcome_EXECUTION_OUTCOME_STARTED); len(ex) != 2 {
					t.Fatalf("started records = %d, want 2", len(ex))
				}
				b.advance(t, 2*time.Minute) // t0+4m: nothing is fired twice later
				wantStarted(t, b, wfAt("uc", time.Minute), wfAt("uc", 2*time.Minute), wfAt("uc", 3*time.Minute), wfAt("uc", 4*time.Minute))
			})
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

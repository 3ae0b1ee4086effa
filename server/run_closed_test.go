package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/runs"
)

// TestRunClosedEventsReachScheduler: every closed run a schedule started is
// handed to the closed handler, again after the handler fails, and never
// again after it succeeded; runs without a schedule are not.
func TestRunClosedEventsReachScheduler(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ctx := context.Background()
		var mu sync.Mutex
		var got []runs.Closed
		failNext := true
		rb.rc.setClosedHandler(func(_ context.Context, ev runs.Closed) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, ev)
			if failNext {
				failNext = false
				return errors.New("scheduler busy")
			}
			return nil
		})
		st := rb.rc.starter()
		res, err := st.Start(ctx, runsStartReq(rb.ns, "s-1"))
		if err != nil {
			t.Fatal(err)
		}
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "manual"})
		for range 2 {
			task := rb.poll(t, "", 1, time.Second)[0]
			if err := rb.complete(t, task.TaskToken, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := rb.rc.tick(ctx); err == nil {
			t.Fatal("tick hid the handler's error")
		}
		rb.tick(t)
		rb.tick(t)
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 2 {
			t.Fatalf("handler saw %d events, want 2 (one failed, one redelivery): %+v", len(got), got)
		}
		for _, ev := range got {
			if ev.RunID != res.RunID || ev.ScheduleID != "sched-1" || ev.Status != runs.StatusCompleted || !ev.NominalTime.Equal(runsEpoch) || !ev.CloseTime.Equal(runsEpoch) {
				t.Fatalf("event = %+v", ev)
			}
		}
	})
}
